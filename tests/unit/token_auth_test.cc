#include "agent/server/token_auth.h"

#include <gmock/gmock.h>
#include <grpc/grpc_security_constants.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "agent/server/caller.h"
#include "tests/test_support/status_matchers.h"
#include "tests/unit/fake_auth_context.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::FakeAuthContext;
using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAlice[] = "0123456789abcdef0123456789abcdef";
constexpr char kAlice2[] = "alice-next-token-0000000000000000";
constexpr char kBob[] = "fedcba9876543210fedcba9876543210";

constexpr char kFile[] =
    "# netprobe tokens\n"
    "\n"
    "alice  0123456789abcdef0123456789abcdef\n"
    "   alice\talice-next-token-0000000000000000   # rotation: both valid\n"
    "bob fedcba9876543210fedcba9876543210\r\n";

TokenSet ParseOk(absl::string_view text) {
  auto set = TokenSet::Parse(text, "tokens");
  EXPECT_THAT(set, IsOk());
  return set.ok() ? *std::move(set) : *TokenSet::Parse("x 0123456789abcdef", "");
}

TEST(TokenSetTest, ParsesNamesTokensCommentsAndBlankLines) {
  TokenSet set = ParseOk(kFile);
  EXPECT_EQ(set.size(), 3u);
  EXPECT_EQ(set.Find(kAlice), "alice");
  EXPECT_EQ(set.Find(kAlice2), "alice");
  EXPECT_EQ(set.Find(kBob), "bob");
  EXPECT_EQ(set.Find(""), std::nullopt);
  EXPECT_EQ(set.Find("0123456789abcdef0123456789abcde"), std::nullopt);   // a prefix
  EXPECT_EQ(set.Find("0123456789ABCDEF0123456789ABCDEF"), std::nullopt);  // case
  EXPECT_EQ(set.Find("alice"), std::nullopt);  // a name is not a token
}

TEST(TokenSetTest, TokensMayContainHash) {
  TokenSet set = ParseOk("ci abc#def0123456789xyz\n");
  EXPECT_EQ(set.Find("abc#def0123456789xyz"), "ci");
}

TEST(TokenSetTest, ErrorsNameTheLineAndNeverTheToken) {
  struct Case {
    const char* text;
    const char* expected;
  } cases[] = {
      {"# only a comment\n\n", "no tokens"},
      {"", "no tokens"},
      {"alice\n", "line 1: expected NAME TOKEN"},
      {"\nalice 0123456789abcdef0123456789abcdef extra\n", "line 2: expected NAME TOKEN"},
      {"al:ice 0123456789abcdef0123456789abcdef\n", "line 1: NAME must be"},
      {"alice short-token\n", "line 1: TOKEN must be 16 to 4096"},
      {"alice 0123456789abcdef\x01\n", "line 1: TOKEN must be printable"},
      {"alice 0123456789abcdef0123456789abcdef\nbob 0123456789abcdef0123456789abcdef\n",
       "line 2: the same token as line 1"},
  };
  for (const Case& c : cases) {
    auto set = TokenSet::Parse(c.text, "token file /etc/t");
    EXPECT_THAT(set, StatusIs(absl::StatusCode::kInvalidArgument,
                              AllOf(HasSubstr("token file /etc/t"), HasSubstr(c.expected),
                                    Not(HasSubstr("0123456789abcdef")))))
        << c.text;
  }
  EXPECT_THAT(TokenSet::Parse(std::string(65, 'n') + " " + kAlice, "t"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 to 64")));
  EXPECT_THAT(TokenSet::Parse(std::string("n ") + std::string(4097, 't'), "t"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("16 to 4096")));
}

absl::StatusOr<std::string> Decide(
    const TokenSet& set, std::vector<absl::string_view> values,
    std::optional<absl::string_view> bound = std::nullopt) {
  return AuthenticateCall(set, values, bound);
}

TEST(AuthenticateCallTest, BearerTokenNamesTheCaller) {
  TokenSet set = ParseOk(kFile);
  EXPECT_EQ(*Decide(set, {absl::StrCat("Bearer ", kAlice)}), "alice");
  EXPECT_EQ(*Decide(set, {absl::StrCat("bearer ", kBob)}), "bob");   // scheme: any case
  EXPECT_EQ(*Decide(set, {absl::StrCat("BEARER  ", kBob)}), "bob");  // extra space
}

TEST(AuthenticateCallTest, EveryFailureIsTheSameUnauthenticated) {
  TokenSet set = ParseOk(kFile);
  const std::string alice = absl::StrCat("Bearer ", kAlice);
  const std::vector<std::vector<std::string>> refused = {
      {},                                           // no header
      {""},                                         // empty
      {"Bearer "},                                  // no token
      {absl::StrCat("Basic ", kAlice)},             // another scheme
      {kAlice},                                     // no scheme
      {"Bearer 0123456789abcdef0123456789abcdeX"},  // unknown token
      {absl::StrCat("Bearer ", kAlice, " ")},       // trailing space
      {alice, alice},                               // two headers
      {alice, absl::StrCat("Bearer ", kBob)},       // two tokens
  };
  for (const auto& values : refused) {
    std::vector<absl::string_view> views(values.begin(), values.end());
    EXPECT_THAT(AuthenticateCall(set, views, std::nullopt),
                StatusIs(absl::StatusCode::kUnauthenticated, kUnauthenticatedMessage))
        << (values.empty() ? "(none)" : values[0]);
  }
}

TEST(AuthenticateCallTest, ABoundConnectionTakesTokensOfItsNameOnly) {
  TokenSet set = ParseOk(kFile);
  EXPECT_EQ(*Decide(set, {absl::StrCat("Bearer ", kAlice2)}, "alice"), "alice");
  EXPECT_THAT(Decide(set, {absl::StrCat("Bearer ", kBob)}, "alice"),
              StatusIs(absl::StatusCode::kUnauthenticated, kUnauthenticatedMessage));
}

// One call's metadata through the processor; "" sends no authorization.
grpc::Status Process(TokenAuthProcessor& processor, FakeAuthContext* connection,
                     const std::string& authorization,
                     grpc::AuthMetadataProcessor::OutputMetadata* consumed) {
  const std::string key = "authorization", other = "user-agent", agent = "grpc-c++";
  grpc::AuthMetadataProcessor::InputMetadata md;
  md.emplace(other, agent);
  if (!authorization.empty()) md.emplace(key, authorization);
  grpc::AuthMetadataProcessor::OutputMetadata response;
  return processor.Process(md, connection, consumed, &response);
}

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/netprobe-token-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/tokens";
    Write(kFile);
  }
  void TearDown() override {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  void Write(const std::string& text, mode_t mode = 0600) {
    std::ofstream(path_, std::ios::trunc) << text;
    chmod(path_.c_str(), mode);
  }
  std::string dir_, path_;
};

TEST_F(TokenFileTest, ReloadSwapsTheSetAndKeepsItOnErrors) {
  auto store = TokenStore::Open(path_);
  ASSERT_THAT(store, IsOk());
  EXPECT_EQ((*store)->current()->Find(kBob), "bob");

  Write("carol cccccccccccccccccccccccccccccccc\n");
  ASSERT_THAT((*store)->Reload(), IsOk());
  EXPECT_EQ((*store)->current()->Find(kBob), std::nullopt);  // revoked
  EXPECT_EQ((*store)->current()->Find("cccccccccccccccccccccccccccccccc"), "carol");

  Write("carol\n");  // half-written
  EXPECT_THAT((*store)->Reload(), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("kept the tokens loaded before")));
  EXPECT_EQ((*store)->current()->Find("cccccccccccccccccccccccccccccccc"), "carol");
}

TEST_F(TokenFileTest, AFileEveryUserMayReadIsRefused) {
  Write(kFile, 0644);
  EXPECT_THAT(TokenStore::Open(path_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("every user may read"), HasSubstr("0644"))));
  Write(kFile, 0640);  // root:netprobe 0640 is how --user reads it
  EXPECT_THAT(TokenStore::Open(path_), IsOk());
}

TEST_F(TokenFileTest, ProcessorBindsTheConnectionToTheFirstTokenName) {
  auto store = TokenStore::Open(path_);
  ASSERT_THAT(store, IsOk());
  TokenAuthProcessor processor(*store);
  EXPECT_FALSE(processor.IsBlocking());
  FakeAuthContext connection;
  grpc::AuthMetadataProcessor::OutputMetadata consumed;

  // No token: refused, and the connection stays unbound.
  grpc::Status status = Process(processor, &connection, "", &consumed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), kUnauthenticatedMessage);
  EXPECT_EQ(connection.property_count(), 0u);

  // alice's token: accepted, the token consumed, the connection bound.
  status = Process(processor, &connection, absl::StrCat("Bearer ", kAlice), &consumed);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(consumed.count("authorization"), 1u);
  EXPECT_EQ(consumed.count("user-agent"), 0u);
  EXPECT_EQ(connection.GetPeerIdentityPropertyName(), kTokenNameProperty);
  EXPECT_EQ(IdentityOf(connection), "token:alice");

  // alice's second token on the same connection: fine, nothing added.
  consumed.clear();
  status = Process(processor, &connection, absl::StrCat("Bearer ", kAlice2), &consumed);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(connection.property_count(), 1u);

  // bob's token on alice's connection: refused with the same message, and
  // the identity stays alice's.
  status = Process(processor, &connection, absl::StrCat("Bearer ", kBob), &consumed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), kUnauthenticatedMessage);
  EXPECT_EQ(IdentityOf(connection), "token:alice");

  // After a reload that revokes alice, her connection is refused too.
  Write(absl::StrCat("bob ", kBob, "\n"));
  ASSERT_THAT((*store)->Reload(), IsOk());
  status = Process(processor, &connection, absl::StrCat("Bearer ", kAlice), &consumed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST(IdentityOfTest, ClientCertificateCnFirstThenSan) {
  FakeAuthContext tls;
  tls.AddProperty(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME, "ssl");
  EXPECT_EQ(IdentityOf(tls), "");  // TLS without a client certificate

  FakeAuthContext with_san;
  with_san.AddProperty(GRPC_X509_CN_PROPERTY_NAME, "alice");
  with_san.AddProperty(GRPC_X509_SAN_PROPERTY_NAME, "alice.example.net");
  with_san.SetPeerIdentityPropertyName(GRPC_X509_SAN_PROPERTY_NAME);  // as gRPC does
  EXPECT_EQ(IdentityOf(with_san), "x509:alice");

  FakeAuthContext san_only;
  san_only.AddProperty(GRPC_X509_SAN_PROPERTY_NAME, "spiffe://example.net/prober");
  san_only.AddProperty(GRPC_X509_SAN_PROPERTY_NAME, "prober.example.net");
  san_only.SetPeerIdentityPropertyName(GRPC_X509_SAN_PROPERTY_NAME);
  EXPECT_EQ(IdentityOf(san_only), "x509:spiffe://example.net/prober");

  FakeAuthContext cn_only;
  cn_only.AddProperty(GRPC_X509_CN_PROPERTY_NAME, "bob");
  cn_only.SetPeerIdentityPropertyName(GRPC_X509_CN_PROPERTY_NAME);
  EXPECT_EQ(IdentityOf(cn_only), "x509:bob");

  // A token names the caller even over mutual TLS.
  cn_only.AddProperty(kTokenNameProperty, "ci");
  cn_only.SetPeerIdentityPropertyName(kTokenNameProperty);
  EXPECT_EQ(IdentityOf(cn_only), "token:ci");
}

TEST(IdentityOfTest, LocalCredentialsAreAnonymous) {
  // gRPC's local credentials make the transport type the peer identity.
  FakeAuthContext local;
  local.AddProperty(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME, "local");
  local.SetPeerIdentityPropertyName(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  EXPECT_TRUE(local.IsPeerAuthenticated());
  EXPECT_EQ(IdentityOf(local), "");
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
