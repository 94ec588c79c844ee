#include "tests/lab/test_certificates.h"

#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/test_support/subprocess.h"

namespace netprobe::testing {
namespace {

absl::Status Openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  absl::StatusOr<RunResult> run = RunCommand(args);
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    return absl::InternalError(absl::StrCat(absl::StrJoin(args, " "), ": ", run->err));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MakeTestCa(const std::string& dir, const std::string& name) {
  const std::string base = absl::StrCat(dir, "/", name);
  return Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-nodes", "-keyout", base + ".key", "-out", base + ".pem", "-days", "2",
                  "-subj", "/CN=" + name});
}

absl::Status MakeTestLeaf(const std::string& dir, const std::string& name,
                          const std::string& ca, const std::string& extensions) {
  const std::string base = absl::StrCat(dir, "/", name);
  const std::string ca_base = absl::StrCat(dir, "/", ca);
  std::ofstream(base + ".ext") << extensions;
  if (absl::Status made = Openssl(
          {"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", base + ".key", "-out", base + ".csr", "-subj", "/CN=" + name});
      !made.ok()) {
    return made;
  }
  return Openssl({"x509", "-req", "-in", base + ".csr", "-CA", ca_base + ".pem", "-CAkey",
                  ca_base + ".key", "-CAcreateserial", "-out", base + ".pem", "-days",
                  "2", "-extfile", base + ".ext"});
}

}  // namespace netprobe::testing
