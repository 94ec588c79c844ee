#ifndef NETPROBE_TESTS_LAB_TEST_CERTIFICATES_H_
#define NETPROBE_TESTS_LAB_TEST_CERTIFICATES_H_

#include <string>

#include "absl/status/status.h"

namespace netprobe::testing {

// Certificates made by the openssl CLI at test time (EC P-256, valid 2 days),
// as DIR/NAME.pem and DIR/NAME.key.
// A self-signed CA.
absl::Status MakeTestCa(const std::string& dir, const std::string& name);
// A certificate `ca` signs for CN=`name` with `extensions` (openssl x509
// -extfile lines, e.g. "subjectAltName=IP:198.18.0.10\n").
absl::Status MakeTestLeaf(const std::string& dir, const std::string& name,
                          const std::string& ca, const std::string& extensions);

}  // namespace netprobe::testing

#endif  // NETPROBE_TESTS_LAB_TEST_CERTIFICATES_H_
