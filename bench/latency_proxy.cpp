// latency_proxy: a TCP relay that holds every chunk for a fixed delay, to
// show the tools over a network with a round-trip time instead of loopback.
//
//   latency_proxy --to PORT --rtt-ms MS [--host 127.0.0.1]
//
// Listens on 127.0.0.1 on a free port, prints "port=N" and serves until
// killed. Each accepted connection gets its own upstream connection to
// host:PORT; bytes flow both ways unchanged, each chunk delivered MS/2 after
// it was read (so a request and its reply take MS). Bandwidth is not
// limited. Built by bench/run with g++ -O2; no dependency beyond libc/libstdc++.
#include "tool_args.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

using bench::die;

int connect_to(const std::string& host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (fd < 0 || ::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1
      || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// One direction of one connection: a reader stamps chunks, a writer sends
// each when its time has come. An empty chunk marks the end of the stream.
class relay {
 public:
  relay(int from, int to, clock_type::duration delay) : from_(from), to_(to), delay_(delay) {}

  void run() {
    std::thread writer([this] { write_loop(); });
    read_loop();
    writer.join();
  }

 private:
  struct chunk {
    clock_type::time_point due;
    std::string bytes;
  };

  void read_loop() {
    std::vector<char> buf(256 * 1024);
    for (;;) {
      ssize_t n = ::recv(from_, buf.data(), buf.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      push({clock_type::now() + delay_, n > 0 ? std::string(buf.data(), static_cast<size_t>(n)) : std::string()});
      if (n <= 0) return;
    }
  }

  void write_loop() {
    for (;;) {
      chunk c;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return !queue_.empty(); });
        c = std::move(queue_.front());
        queue_.pop_front();
      }
      std::this_thread::sleep_until(c.due);
      if (c.bytes.empty()) {
        ::shutdown(to_, SHUT_WR);  // pass the end of the stream on
        return;
      }
      const char* p = c.bytes.data();
      size_t left = c.bytes.size();
      while (left > 0) {
        ssize_t n = ::send(to_, p, left, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          ::shutdown(from_, SHUT_RD);  // the other side is gone: stop reading
          drain();
          return;
        }
        p += n;
        left -= static_cast<size_t>(n);
      }
    }
  }

  // Discards what is still queued, up to the end marker.
  void drain() {
    for (;;) {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [&] { return !queue_.empty(); });
      bool end = queue_.front().bytes.empty();
      queue_.pop_front();
      if (end) return;
    }
  }

  void push(chunk c) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(c));
    }
    ready_.notify_one();
  }

  int from_, to_;
  clock_type::duration delay_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<chunk> queue_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int to_port = 0;
  double rtt_ms = -1;
  bench::program_name = "latency_proxy";
  bench::for_each_option(argc, argv, [&](const std::string& a, auto value) {
    if (a == "--host") host = value();
    else if (a == "--to") to_port = std::atoi(value().c_str());
    else if (a == "--rtt-ms") rtt_ms = std::atof(value().c_str());
    else die("unknown option " + a);
  });
  if (to_port <= 0 || rtt_ms < 0) die("usage: latency_proxy --to PORT --rtt-ms MS [--host H]");
  const auto delay = std::chrono::duration_cast<clock_type::duration>(
      std::chrono::duration<double, std::milli>(rtt_ms / 2));

  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0
      || ::listen(listener, 256) != 0
      || ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    die(std::string("cannot listen: ") + std::strerror(errno));
  std::printf("port=%d\n", ntohs(a.sin_port));
  std::fflush(stdout);

  for (;;) {
    int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EINTR) continue;
      die(std::string("accept: ") + std::strerror(errno));
    }
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::thread([client, host, to_port, delay] {
      int server = connect_to(host, to_port);
      if (server < 0) {
        ::close(client);
        return;
      }
      relay up(client, server, delay), down(server, client, delay);
      std::thread t([&] { down.run(); });
      up.run();
      t.join();
      ::close(client);
      ::close(server);
    }).detach();
  }
}
