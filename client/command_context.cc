#include "client/command_context.h"

#include "client/agent_channel.h"
#include "client/exit_codes.h"
#include "client/field_flags.h"

namespace netprobe::client {

void CommandContext::ApplyDeadline(grpc::ClientContext* context,
                                   absl::Duration fallback) const {
  const absl::Duration limit = timeout.value_or(fallback);
  if (limit == absl::InfiniteDuration()) return;
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoNanoseconds(limit));
}

int ReportRpcError(const CommandContext& ctx, const char* what,
                   const grpc::Status& status) {
  if (ctx.on_rpc_error) ctx.on_rpc_error(status);
  const char* agent = ctx.agent.c_str();
  const std::string text = status.error_message();  // a copy, not a reference
  const char* message = text.c_str();
  switch (ClassifyAuthProblem(status)) {
    case AuthProblem::kNone:
      break;
    case AuthProblem::kTokenRefused:
      std::fprintf(ctx.err,
                   "netprobe %s: agent %s refused the call: %s (give a token the agent "
                   "knows with --token-file FILE or $NETPROBE_TOKEN)\n",
                   what, agent, message);
      return kExitNotAuthenticated;
    case AuthProblem::kAgentNotTrusted:
      std::fprintf(ctx.err,
                   "netprobe %s: TLS: the certificate of agent %s is not trusted: %s "
                   "(--tls-ca must hold the CA that signed it, and the certificate must "
                   "name the host of --agent, or --tls-server-name)\n",
                   what, agent, message);
      return kExitNotAuthenticated;
    case AuthProblem::kAgentWithoutTls:
      std::fprintf(ctx.err,
                   "netprobe %s: TLS: agent %s answered in plaintext: it does not use "
                   "TLS there (leave out --tls-ca): %s\n",
                   what, agent, message);
      return kExitNotAuthenticated;
    case AuthProblem::kHandshakeRefused:
      std::fprintf(ctx.err,
                   "netprobe %s: agent %s closed the connection before any call: %s\n",
                   what, agent,
                   ctx.tls ? "it wants a client certificate signed by a CA it trusts "
                             "(--tls-cert FILE --tls-key FILE)"
                           : "it probably requires TLS (--tls-ca FILE)");
      return kExitNotAuthenticated;
  }
  const int code = ExitCodeFor(status);
  if (code == kExitAgentUnreachable) {
    std::fprintf(ctx.err, "netprobe %s: agent %s unreachable: %s\n", what,
                 ctx.agent.c_str(), status.error_message().c_str());
  } else {
    // The agent names the request's field; say which flag set it too.
    const std::string flag = FlagForAgentMessage(what, text);
    std::fprintf(ctx.err, "netprobe %s: %s%s%s\n", what, flag.c_str(),
                 flag.empty() ? "" : ": ", message);
  }
  return code;
}

}  // namespace netprobe::client
