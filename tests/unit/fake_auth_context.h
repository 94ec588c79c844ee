#ifndef NETPROBE_TESTS_UNIT_FAKE_AUTH_CONTEXT_H_
#define NETPROBE_TESTS_UNIT_FAKE_AUTH_CONTEXT_H_

#include <grpcpp/security/auth_context.h>

#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace netprobe::testing {

// An AuthContext held in memory, like the one gRPC keeps per connection:
// properties accumulate, and the peer identity is the values of one of them.
class FakeAuthContext : public grpc::AuthContext {
 public:
  bool IsPeerAuthenticated() const override { return !identity_property_.empty(); }
  std::vector<grpc::string_ref> GetPeerIdentity() const override {
    return FindPropertyValues(identity_property_);
  }
  std::string GetPeerIdentityPropertyName() const override { return identity_property_; }
  std::vector<grpc::string_ref> FindPropertyValues(
      const std::string& name) const override {
    std::vector<grpc::string_ref> out;
    for (const auto& [key, value] : properties_) {
      if (key == name) out.emplace_back(value);
    }
    return out;
  }
  // Iteration is not needed by the code under test.
  grpc::AuthPropertyIterator begin() const override { return End(); }
  grpc::AuthPropertyIterator end() const override { return End(); }
  void AddProperty(const std::string& key, const grpc::string_ref& value) override {
    properties_.emplace_back(key, std::string(value.data(), value.size()));
  }
  bool SetPeerIdentityPropertyName(const std::string& name) override {
    identity_property_ = name;
    return true;
  }

  size_t property_count() const { return properties_.size(); }

 private:
  struct EmptyIterator : grpc::AuthPropertyIterator {};
  static grpc::AuthPropertyIterator End() { return EmptyIterator(); }

  std::deque<std::pair<std::string, std::string>> properties_;  // stable refs
  std::string identity_property_;
};

}  // namespace netprobe::testing

#endif  // NETPROBE_TESTS_UNIT_FAKE_AUTH_CONTEXT_H_
