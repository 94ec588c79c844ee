#include "common/tls_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

// Made once with the openssl CLI (EC P-256): a CA, a certificate it signed
// (CN=agent1, O=netprobe tests; valid 2026-11-30 to 2126-11-06), the
// certificate's key, and an unrelated key. Test times are explicit, so the
// clock of the machine does not matter.
constexpr char kCaPem[] = R"pem(-----BEGIN CERTIFICATE-----
MIIBlzCCAT2gAwIBAgIUQHMfwU5T+cqKz9S1sygYFTbsfEcwCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVbmV0cHJvYmUgdW5pdCB0ZXN0IENBMCAXDTI2MTEzMDA5MjQx
OVoYDzIxMjYxMTA2MDkyNDE5WjAgMR4wHAYDVQQDDBVuZXRwcm9iZSB1bml0IHRl
c3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQyN9eIaLA6XQQVilHUQv1r
CpIXhvxkJDTuC0KRsQe0og1LoxTVQUGBReCsN4kvb1pruOZLlYNlW8pV/8J9MqfR
o1MwUTAdBgNVHQ4EFgQUQajlG+PLlBr2bi51J51CWtWrgVwwHwYDVR0jBBgwFoAU
QajlG+PLlBr2bi51J51CWtWrgVwwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQD
AgNIADBFAiBjM3njmp0Yj2VhgmfF92+FNk28n3FyHImKj3vy3Y/gDgIhAM6SRZRS
xpaq6wCBzolzk3TaojoL2gM7uow5Xp2BlqCv
-----END CERTIFICATE-----
)pem";
constexpr char kLeafPem[] = R"pem(-----BEGIN CERTIFICATE-----
MIIBRTCB7QIUcJNZQTg8sZw6Xr5I4+/edese3tEwCgYIKoZIzj0EAwIwIDEeMBwG
A1UEAwwVbmV0cHJvYmUgdW5pdCB0ZXN0IENBMCAXDTI2MTEzMDA5MjQxOVoYDzIx
MjYxMTA2MDkyNDE5WjAqMQ8wDQYDVQQDDAZhZ2VudDExFzAVBgNVBAoMDm5ldHBy
b2JlIHRlc3RzMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEdreB396nUdqySwD
WstoVwRw25miCTSKZqqw6wVYJtFdQFYw+UcHijGRVD3nsfQY1RvCdDi/YGDTjU/4
hp/h2zAKBggqhkjOPQQDAgNHADBEAiAxgMPBT026xQUx+JyiLDDML/yNnbwcefub
mN75dp7tZgIgBriwfVDISIo+S5fr3NzJ+x3nC6peUDaic2CV6qyouvc=
-----END CERTIFICATE-----
)pem";
constexpr char kLeafKey[] = R"pem(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbpF4oLUQIP1GDkaD
k9Nqck8tCbwlAGSIYlItcRF2IFShRANCAAQR2t4Hf3qdR2rJLANay2hXBHDbmaIJ
NIpmqrDrBVgm0V1AVjD5RweKMZFUPeex9BjVG8J0OL9gYNONT/iGn+Hb
-----END PRIVATE KEY-----
)pem";
constexpr char kOtherKey[] = R"pem(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgdbO+1ZO80DHIPu9l
hsos7hEXHKTCPj/rHIkNtG4cEsuhRANCAAQS3ERTIrqKxjFOT2UaWRALHL/RaYjr
VmO9AvL9JfxR5kFMRtJNLXNL3CVSryeBnPoaLA2apE7YFHj4W12xNG6g
-----END PRIVATE KEY-----
)pem";

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

}  // namespace
}  // namespace netprobe
