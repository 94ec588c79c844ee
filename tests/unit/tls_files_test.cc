#include "common/tls_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "tests/test_support/status_matchers.h"
#include "tests/test_support/test_certificates.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::kCaPem;
using ::netprobe::testing::kLeafKey;
using ::netprobe::testing::kLeafPem;
using ::netprobe::testing::kOtherKey;
using ::netprobe::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

const absl::Time kValid =
    absl::FromCivil(absl::CivilDay(2050, 1, 1), absl::UTCTimeZone());

TEST(CheckCertificateAndKeyTest, MatchingPairIsDescribed) {
  auto facts =
      CheckCertificateAndKey(kLeafPem, kLeafKey, "--tls-cert", "--tls-key", kValid);
  ASSERT_THAT(facts, IsOk());
  EXPECT_EQ(facts->subject, "O=netprobe tests,CN=agent1");
  EXPECT_EQ(absl::FormatTime("%Y-%m-%d", facts->not_after, absl::UTCTimeZone()),
            "2126-11-06");
}

TEST(CheckCertificateAndKeyTest, ChainWithTheCaAfterTheLeafIsFine) {
  EXPECT_THAT(
      CheckCertificateAndKey(absl::StrCat(kLeafPem, kCaPem), kLeafKey, "c", "k", kValid),
      IsOk());
}

TEST(CheckCertificateAndKeyTest, ProblemsNameTheFile) {
  EXPECT_THAT(
      CheckCertificateAndKey(kLeafPem, kOtherKey, "--tls-cert", "--tls-key", kValid),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("--tls-key: not the private key of the certificate")));
  EXPECT_THAT(
      CheckCertificateAndKey(kLeafKey, kLeafKey, "--tls-cert", "--tls-key", kValid),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("--tls-cert: no PEM certificate")));
  EXPECT_THAT(
      CheckCertificateAndKey(kLeafPem, kLeafPem, "--tls-cert", "--tls-key", kValid),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("--tls-key: no PEM private key")));
  EXPECT_THAT(
      CheckCertificateAndKey(kLeafPem, kLeafKey, "--tls-cert", "--tls-key",
                             absl::FromUnixSeconds(0) + absl::Hours(24 * 365 * 230)),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("--tls-cert"), HasSubstr("expired on 2126-11-06"))));
  EXPECT_THAT(CheckCertificateAndKey(kLeafPem, kLeafKey, "--tls-cert", "--tls-key",
                                     absl::FromUnixSeconds(0)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is valid only from 2026-11-30")));
}

TEST(CheckCaBundleTest, OneOrMoreCertificates) {
  EXPECT_EQ(*CheckCaBundle(kCaPem, "--client-ca"), "CN=netprobe unit test CA");
  EXPECT_THAT(CheckCaBundle(absl::StrCat(kCaPem, kLeafPem), "--client-ca"), IsOk());
  EXPECT_THAT(CheckCaBundle("", "--client-ca"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--client-ca: no PEM certificate")));
  EXPECT_THAT(CheckCaBundle(absl::StrCat(kCaPem,
                                         "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                         "-----END CERTIFICATE-----\n"),
                            "--client-ca"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("certificate 2 does not parse")));
}

TEST(ReadSmallFileTest, SecretsMustNotBeReadableByEveryone) {
  char dir[] = "/tmp/netprobe-tls-files-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = absl::StrCat(dir, "/key.pem");
  std::ofstream(path) << kLeafKey;
  chmod(path.c_str(), 0644);
  EXPECT_THAT(ReadSmallFile(path, "--tls-key", /*secret=*/true),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--tls-key"), HasSubstr("mode 0644"),
                             HasSubstr("chmod o-rw"))));
  EXPECT_EQ(*ReadSmallFile(path, "--tls-cert", /*secret=*/false), kLeafKey);
  chmod(path.c_str(), 0640);
  EXPECT_EQ(*ReadSmallFile(path, "--tls-key", /*secret=*/true), kLeafKey);
  EXPECT_THAT(ReadSmallFile(absl::StrCat(dir, "/missing"), "--tls-key", true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("No such file")));
  EXPECT_THAT(ReadSmallFile(dir, "--tls-key", true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a file")));
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
