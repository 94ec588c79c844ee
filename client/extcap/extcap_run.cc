#include "client/extcap/extcap_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/command_context.h"
#include "client/output/capture_pcapng.h"
#include "netprobe/v1/agent.grpc.pb.h"
#include "netprobe/v1/probes.grpc.pb.h"

namespace netprobe::client::extcap {
namespace {

// How long a stop signal leaves the run to end on its own.
constexpr absl::Duration kStopGrace = absl::Seconds(5);

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

grpc::ChannelArguments ChannelArgs() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  return args;
}

std::chrono::system_clock::time_point After(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoNanoseconds(d);
}

// One line per failure: "netprobe-extcap: agent NAME (ADDR): ...". Wireshark
// shows what a failed extcap wrote to stderr.
std::string AgentLabel(const AgentSpec& agent) {
  return agent.name == agent.address ? agent.name
                                     : absl::StrCat(agent.name, " (", agent.address, ")");
}

// What stops a running capture, from other threads: a stop signal, the
// fifo's reader going away, or no first answer in time. Each cancels the
// call; the reading thread then ends the stream.
class CaptureWatch {
 public:
  // Never destroyed (the signal thread waits in sigwait() for the life of the
  // process); Done() detaches it from the call.
  CaptureWatch(grpc::ClientContext* context, absl::Duration first_answer)
      : context_(context) {
    if (::pipe2(wake_, O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
    timer_ = std::thread([this, first_answer] { WatchFirstAnswer(first_answer); });
  }

  void HeaderArrived() { header_.Notify(); }

  // Until FifoOpened, a stop signal ends the process at once: the open of a
  // fifo nobody reads would never return. The agent sees its call end with
  // the connection.
  void OpeningFifo() {
    std::lock_guard<std::mutex> lock(mu_);
    opening_fifo_ = true;
    if (stopped_) ::_exit(0);
  }
  void FifoOpened(int fd) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      opening_fifo_ = false;
    }
    fifo_watch_ = std::thread([this, fd] { WatchFifo(fd); });
  }

  // The call is over: the watchers end, and a later signal touches nothing.
  // Call before the context and the fifo go away.
  void Done() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      context_ = nullptr;
    }
    finished_.Notify();
    if (wake_[1] >= 0) {
      const char c = 0;
      (void)!::write(wake_[1], &c, 1);
    }
    timer_.join();
    if (fifo_watch_.joinable()) fifo_watch_.join();
  }

  bool stopped() {
    std::lock_guard<std::mutex> lock(mu_);
    return stopped_;
  }
  bool reader_gone() {
    std::lock_guard<std::mutex> lock(mu_);
    return reader_gone_;
  }
  bool timed_out() {
    std::lock_guard<std::mutex> lock(mu_);
    return timed_out_;
  }

  // A stop signal (from the process's signal thread).
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
      if (opening_fifo_) ::_exit(0);
      Cancel();
    }
    // The run ends within milliseconds of the cancel. Should anything block
    // it (a fifo whose reader stopped reading), Wireshark must still see
    // the program end: it would otherwise wait for it, then kill it.
    absl::SleepFor(kStopGrace);
    ::_exit(0);
  }

 private:
  void Cancel() {  // REQUIRES: mu_ held
    if (context_ != nullptr) context_->TryCancel();
  }

  void WatchFirstAnswer(absl::Duration limit) {
    const absl::Time deadline = absl::Now() + limit;
    while (!header_.HasBeenNotified() && !finished_.HasBeenNotified()) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        std::lock_guard<std::mutex> lock(mu_);
        timed_out_ = true;
        Cancel();
        return;
      }
      // Wakes at the header; the end of the run wakes it within 50 ms.
      header_.WaitForNotificationWithTimeout(std::min(absl::Milliseconds(50), left));
    }
  }

  // The write end of a pipe polls POLLERR once the last reader closed it:
  // the capture stops at once, not at the next packet's EPIPE.
  void WatchFifo(int fd) {
    pollfd fds[2] = {{fd, 0, 0}, {wake_[0], POLLIN, 0}};
    while (true) {
      const int n = ::poll(fds, wake_[0] >= 0 ? 2 : 1, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || fds[1].revents != 0) return;
      if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
        std::lock_guard<std::mutex> lock(mu_);
        reader_gone_ = true;
        Cancel();
        return;
      }
    }
  }

  int wake_[2] = {-1, -1};
  absl::Notification header_;
  absl::Notification finished_;
  std::mutex mu_;
  grpc::ClientContext* context_;  // guarded by mu_; null after Done()
  bool stopped_ = false;          // guarded by mu_
  bool opening_fifo_ = false;     // guarded by mu_
  bool reader_gone_ = false;      // guarded by mu_
  bool timed_out_ = false;        // guarded by mu_
  std::thread timer_, fifo_watch_;
};

// The capture that a stop signal stops; none: the signal ends the process.
std::atomic<CaptureWatch*> running_capture{nullptr};

}  // namespace

void BlockStopSignals() {
  sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  // Every thread has the signals blocked (gRPC's are created later): this
  // one takes them, for the life of the process.
  std::thread([] {
    sigset_t set = StopSignals();
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return;
    if (CaptureWatch* watch = running_capture.load()) watch->Stop();
    ::_exit(128 + sig);
  }).detach();
}

void ReleaseFifoReader(const std::string& fifo) {
  const absl::Time give_up = absl::Now() + absl::Seconds(1);
  while (true) {
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      ::close(fd);  // the reader's open returns, its first read sees the end
      return;
    }
    // ENXIO: no reader yet (dumpcap starts with us); anything else (no such
    // file, not a fifo): no reader can be waiting on it.
    if (errno != ENXIO || absl::Now() >= give_up) return;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

int ListInterfaces(const AgentsConfig& config, const ChannelSecurity& security,
                   absl::Duration deadline, FILE* out, FILE* err) {
  struct Answer {
    grpc::Status status;
    v1::AgentInfo info;
    absl::Status refused;  // checked locally before calling
  };
  std::vector<Answer> answers(config.agents.size());
  std::vector<std::thread> threads;
  const auto until = After(deadline);
  for (size_t i = 0; i < config.agents.size(); ++i) {
    const AgentSpec& agent = config.agents[i];
    if (absl::Status st = CheckChannelSecurity(security, agent.address); !st.ok()) {
      answers[i].refused = st;
      continue;
    }
    threads.emplace_back([&, i, until] {
      auto channel = OpenAgentChannel(config.agents[i].address, security, ChannelArgs());
      grpc::ClientContext context;
      context.set_deadline(until);
      answers[i].status = v1::Agent::NewStub(channel)->GetInfo(
          &context, v1::GetInfoRequest(), &answers[i].info);
    });
  }
  for (std::thread& t : threads) t.join();

  std::string text = ExtcapVersionLine(NETPROBE_VERSION);
  for (size_t i = 0; i < config.agents.size(); ++i) {
    const AgentSpec& agent = config.agents[i];
    const Answer& a = answers[i];
    if (!a.refused.ok()) {
      std::fprintf(err, "netprobe-extcap: agent %s skipped: %s\n",
                   AgentLabel(agent).c_str(), std::string(a.refused.message()).c_str());
      continue;
    }
    if (!a.status.ok()) {
      std::fprintf(
          err, "netprobe-extcap: agent %s skipped: %s\n", AgentLabel(agent).c_str(),
          a.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
              ? absl::StrCat("no answer within ", absl::FormatDuration(deadline)).c_str()
              : a.status.error_message().c_str());
      continue;
    }
    bool can_capture = true;
    for (const v1::ProbeSupport& probe : a.info.probes()) {
      if (probe.name() == "Capture" && !probe.implemented()) {
        std::fprintf(err, "netprobe-extcap: agent %s skipped: it cannot capture: %s\n",
                     AgentLabel(agent).c_str(), probe.unavailable_reason().c_str());
        can_capture = false;
      }
    }
    if (!can_capture) continue;
    absl::StrAppend(&text, InterfaceLine(agent.name, "any"));
    for (const v1::NetworkInterface& iface : a.info.interfaces()) {
      if (ListableInterfaceName(iface.name()) && iface.name() != "any") {
        absl::StrAppend(&text, InterfaceLine(agent.name, iface.name()));
      }
    }
  }
  if (std::fwrite(text.data(), 1, text.size(), out) != text.size() ||
      std::fflush(out) != 0) {
    return 1;
  }
  return 0;
}

int RunCapture(const CaptureSetup& setup, FILE* err) {
  const std::string label = AgentLabel(setup.agent);
  const ParsedOptions& options = setup.options;
  v1::CaptureRequest request;
  request.set_interface(setup.iface);
  request.set_filter(options.Get("extcap-capture-filter"));
  auto snaplen = options.GetUint("snaplen", 1, 262144);
  if (!snaplen.ok()) {
    std::fprintf(err, "netprobe-extcap: %s\n",
                 std::string(snaplen.status().message()).c_str());
    return 2;
  }
  if (*snaplen) request.set_snaplen(static_cast<uint32_t>(**snaplen));
  request.set_promiscuous(options.Has("promiscuous"));
  request.set_include_own_traffic(options.Has("own-traffic"));
  request.set_packed_records(true);
  if (absl::Status st = CheckChannelSecurity(setup.security, setup.agent.address);
      !st.ok()) {
    std::fprintf(err, "netprobe-extcap: agent %s: %s\n", label.c_str(),
                 std::string(st.message()).c_str());
    return 2;
  }

  auto channel = OpenAgentChannel(setup.agent.address, setup.security, ChannelArgs());
  auto stub = v1::Probes::NewStub(channel);
  grpc::ClientContext context;
  CaptureWatch& watch = *new CaptureWatch(&context, setup.first_answer);
  running_capture.store(&watch);
  auto reader = stub->Capture(&context, request);

  FILE* fifo = nullptr;
  std::unique_ptr<CapturePcapng> pcapng;
  size_t source = 0;
  absl::Status write_error;
  std::string failed_detail;
  v1::CaptureEvents batch;
  while (write_error.ok() && reader->Read(&batch)) {
    for (const v1::CaptureEvent& event : batch.events()) {
      if (event.has_header() && fifo == nullptr) {
        watch.HeaderArrived();
        // Wireshark's reader (dumpcap) opens the fifo as it starts us, so
        // this open returns at once.
        watch.OpeningFifo();
        const int fd = ::open(setup.fifo.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0 || (fifo = ::fdopen(fd, "wb")) == nullptr) {
          write_error = absl::ErrnoToStatus(errno, absl::StrCat("open ", setup.fifo));
          if (fd >= 0) ::close(fd);
          break;
        }
        watch.FifoOpened(fd);
        std::setvbuf(fifo, nullptr, _IOFBF, 64 << 10);
        pcapng = std::make_unique<CapturePcapng>(
            fifo,
            CapturePcapng::Options{.application = "netprobe-extcap " NETPROBE_VERSION});
        source = pcapng->AddSource(setup.agent.name, setup.agent.address);
      }
      if (event.has_end() && event.end().reason() == v1::StreamEnd::REASON_FAILED) {
        failed_detail = event.end().detail();
      }
      if (!pcapng) continue;  // nothing comes before the header
      write_error = pcapng->Add(source, event, absl::Now());
      if (!write_error.ok()) break;
    }
    // Every batch reaches Wireshark at once.
    if (pcapng && write_error.ok()) write_error = pcapng->Flush();
  }
  if (!write_error.ok()) context.TryCancel();  // nothing more can be kept
  while (reader->Read(&batch)) {
  }
  const grpc::Status status = reader->Finish();
  const bool reader_gone =
      watch.reader_gone() ||
      (!write_error.ok() && write_error.message() == std::strerror(EPIPE));

  int exit_code = 0;
  if (watch.timed_out()) {
    std::fprintf(err,
                 "netprobe-extcap: agent %s did not start the capture within %s (is it "
                 "running, and reachable from here?)\n",
                 label.c_str(), absl::FormatDuration(setup.first_answer).c_str());
    exit_code = 3;
  } else if (!status.ok() && !(status.error_code() == grpc::StatusCode::CANCELLED &&
                               (watch.stopped() || reader_gone || !write_error.ok()))) {
    CommandContext ctx;
    ctx.agent = label;
    ctx.tls = setup.security.tls();
    ctx.err = err;
    exit_code = ReportRpcError(ctx, "extcap", status);
    if (exit_code == 0) exit_code = 1;
  } else if (!failed_detail.empty()) {
    std::fprintf(err, "netprobe-extcap: agent %s: the capture failed: %s\n",
                 label.c_str(), failed_detail.c_str());
    exit_code = 1;
  } else if (!write_error.ok() && !reader_gone) {
    std::fprintf(err, "netprobe-extcap: writing %s failed: %s\n", setup.fifo.c_str(),
                 std::string(write_error.message()).c_str());
    exit_code = 1;
  }
  if (pcapng && write_error.ok() && !reader_gone) {
    // The capture's last counts, as Wireshark shows them in the capture
    // file's properties: what the kernel saw, and every drop on the way.
    const absl::Time now = absl::Now();
    (void)pcapng->EndSource(source, now);
    if (pcapng->Finish(now).ok()) (void)pcapng->Flush();
  }
  watch.Done();
  if (fifo != nullptr) {
    std::fclose(fifo);
  } else if (exit_code != 0) {
    ReleaseFifoReader(setup.fifo);
  }
  return exit_code;
}

}  // namespace netprobe::client::extcap
