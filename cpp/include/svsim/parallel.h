// Loops over the state that run on several threads only when the state is large
// enough to pay for them.  The thread count is always passed in, never set
// globally, so two simulators in one process do not change each other's threads.
//
// The threads come from one pool per process (ThreadPool below), not from an
// OpenMP team.  OpenMP gave each calling thread a team of its own, whose idle
// threads spin for a fixed count after every loop; no call can change that
// (only OMP_WAIT_POLICY, read once at load).  On a busy machine the spinning
// threads took the cores from the thread with work: per-shot trajectories
// (dozens of short loops per shot) ran 25-90x slower on 2 threads than on 1, and
// an idle second simulator's team made the first one's short runs 1.45x slower.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace svsim {

using index_t = std::uint64_t;

struct Parallelism {
  int threads = 1;               // threads to use for a large loop
  index_t min_items = 1u << 15;  // loops shorter than this stay serial

  bool worth_it(index_t items) const { return threads > 1 && items >= min_items; }
};

// The cores this process may run on (its affinity mask, as os.sched_getaffinity).
inline int hardware_threads() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

// Worker threads shared by every loop in the process.  A loop is cut into
// pieces, a few per thread.  Each thread first runs its own contiguous share of
// them, the share the same thread gets in every loop (so that a part of the
// state that fits in a core's cache stays there from one gate to the next), and
// then takes what is left of the others' shares from their ends.  The loop is
// done when every piece has run, whoever ran it: a worker that the operating
// system has not scheduled yet delays nobody, since the caller runs its share
// and the worker, when it wakes, finds none left.  Idle workers spin for a few
// microseconds (back-to-back loops of one circuit find them awake) and then
// sleep, leaving the cores to whoever has work.  One loop runs at a time: a
// loop started while another runs (a second simulator, or a loop inside a
// loop) runs on its caller's thread alone, which is all the cores have left.
class ThreadPool {
 public:
  using PieceFn = void (*)(const void* context, index_t piece);

  static ThreadPool& shared() {
    static const bool created = [] {
      // Never destroyed: workers may still wait when the interpreter exits.  A
      // forked child (multiprocessing, Dask) has none of the parent's workers
      // and maybe a held mutex, so it starts from a fresh pool.
      instance() = new ThreadPool();
#if defined(__linux__)
      pthread_atfork(nullptr, nullptr, [] { instance() = new ThreadPool(); });
#endif
      return true;
    }();
    (void)created;
    return *instance();
  }

  // Runs fn(context, p) for every p in [0, pieces) on at most `threads` threads,
  // the caller's included.
  void run(int threads, index_t pieces, PieceFn fn, const void* context) {
    if (threads < 2 || pieces < 2 || busy_.exchange(true, std::memory_order_acquire)) {
      for (index_t p = 0; p < pieces; ++p) fn(context, p);
      return;
    }
    const auto start = Clock::now();
    if (start < serial_until_) {
      for (index_t p = 0; p < pieces; ++p) fn(context, p);
      busy_.store(false, std::memory_order_release);
      return;
    }
    threads = static_cast<int>(std::min<index_t>(static_cast<index_t>(threads), pieces));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      while (workers_.size() + 1 < static_cast<std::size_t>(threads)) {
        const int id = static_cast<int>(workers_.size()) + 1;
        workers_.emplace_back([this, id, seen = generation_.load()] { work(id, seen); });
      }
      fn_ = fn;
      context_ = context;
      threads_ = threads;
      shares_.resize(static_cast<std::size_t>(threads));
      for (int t = 0; t < threads; ++t) {
        shares_[t] = {pieces * t / threads, pieces * (t + 1) / threads};
      }
      pieces_ = pieces;
      finished_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    if (sleeping_.load(std::memory_order_relaxed) > 0) wake_.notify_all();
    const index_t own_pieces = run_pieces(0);
    const auto own_done = Clock::now();
    // Wait for pieces that workers took and still run.
    if (!spin_until([&] { return finished_.load(std::memory_order_acquire) == pieces; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return finished_.load(std::memory_order_acquire) == pieces; });
    }
    note_stall(own_pieces, own_done - start, Clock::now() - own_done);
    busy_.store(false, std::memory_order_release);
  }

 private:
  using Clock = std::chrono::steady_clock;
  // How long idle threads wait awake before they sleep (spin_until):
  // back-to-back loops of one circuit come sooner.
  static constexpr auto kSpin = std::chrono::microseconds(50);
  static constexpr auto kPatience = std::chrono::microseconds(500);

  struct Share {
    index_t next, end;  // pieces [next, end) not yet taken
  };

  ThreadPool() = default;

  static ThreadPool*& instance() {
    static ThreadPool* pool = nullptr;
    return pool;
  }

  // Waits up to kPatience for `ready`, without sleeping, and reports whether
  // it came: first spinning (kSpin), then giving the core to any other thread
  // that wants it between checks, so that on a busy machine the wait costs
  // others little.  Sleeping instead would cost a wake-up each loop.
  template <typename Ready>
  static bool spin_until(Ready&& ready) {
    const auto begin = Clock::now();
    for (unsigned i = 1;; ++i) {
      if (ready()) return true;
      if (i % 64 != 0) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        asm volatile("yield");
#endif
        continue;
      }
      const auto waited = Clock::now() - begin;
      if (waited > kPatience) return false;
      if (waited > kSpin) std::this_thread::yield();
    }
  }

  // A caller that waited for a worker's piece far longer than its own pieces
  // took had a worker that the operating system had descheduled: another
  // process wants the cores.  Loops then run on their caller alone for a
  // while (1 ms, doubling up to 64 ms while it goes on), since a worker that
  // holds a piece and waits for a core costs a scheduler tick (milliseconds)
  // where the loops take microseconds.  A loop without such a wait resets it.
  void note_stall(index_t own_pieces, Clock::duration own, Clock::duration waited) {
    constexpr auto kMinBackoff = std::chrono::milliseconds(1);
    constexpr auto kMaxBackoff = std::chrono::milliseconds(64);
    // A wake-up from sleep takes tens of microseconds; a scheduler tick, more.
    constexpr auto kLate = std::chrono::microseconds(250);
    const Clock::duration per_piece = own_pieces ? own / static_cast<Clock::rep>(own_pieces) : own;
    if (waited <= 2 * per_piece + kLate) {
      backoff_ = kMinBackoff;
      return;
    }
    serial_until_ = Clock::now() + backoff_;
    backoff_ = std::min<Clock::duration>(2 * backoff_, kMaxBackoff);
  }

  // Takes the next piece for thread `self`: from its own share, else from the
  // end of the largest share left.  Called with mutex_ held.
  bool take(int self, index_t& piece) {
    if (self < threads_ && shares_[self].next < shares_[self].end) {
      piece = shares_[self].next++;
      return true;
    }
    Share* largest = nullptr;
    for (int t = 0; t < threads_; ++t) {
      Share& share = shares_[t];
      if (share.next < share.end &&
          (!largest || share.end - share.next > largest->end - largest->next))
        largest = &share;
    }
    if (!largest) return false;
    piece = --largest->end;
    return true;
  }

  // Runs pieces of the current loop for thread `self` until none is left;
  // returns how many it ran.
  index_t run_pieces(int self) {
    index_t ran = 0;
    index_t piece;
    std::unique_lock<std::mutex> lock(mutex_);
    while (take(self, piece)) {
      ++ran;
      const PieceFn fn = fn_;
      const void* context = context_;
      lock.unlock();
      fn(context, piece);
      lock.lock();
      if (finished_.fetch_add(1, std::memory_order_acq_rel) + 1 == pieces_) done_.notify_one();
    }
    return ran;
  }

  void work(int id, std::uint64_t seen) {
    for (;;) {
      auto started = [&] { return generation_.load(std::memory_order_acquire) != seen; };
      if (!spin_until(started)) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleeping_.fetch_add(1, std::memory_order_relaxed);
        wake_.wait(lock, started);
        sleeping_.fetch_sub(1, std::memory_order_relaxed);
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        seen = generation_.load(std::memory_order_relaxed);
        if (id >= threads_) continue;  // this loop asked for fewer threads
      }
      run_pieces(id);
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;  // workers wait here for a loop
  std::condition_variable done_;  // the caller waits here for the last piece
  std::vector<std::thread> workers_;
  std::atomic<bool> busy_{false};
  std::atomic<std::uint64_t> generation_{0};  // one more for every loop started
  std::atomic<int> sleeping_{0};
  std::atomic<index_t> finished_{0};
  // The current loop, guarded by mutex_.
  PieceFn fn_ = nullptr;
  const void* context_ = nullptr;
  int threads_ = 0;
  std::vector<Share> shares_;  // one per thread
  index_t pieces_ = 0;
  // The stall backoff, used by the thread that holds busy_.
  Clock::time_point serial_until_{};
  Clock::duration backoff_ = std::chrono::milliseconds(1);
};

// Calls body(i) for i in [0, count), split into contiguous pieces over the threads.
template <typename Body>
void parallel_for(const Parallelism& par, index_t count, Body&& body) {
  if (!par.worth_it(count)) {
    for (index_t i = 0; i < count; ++i) body(i);
    return;
  }
  // A few pieces per thread, so that a thread that starts late or is
  // interrupted leaves its share to the others.
  struct Loop {
    Body* body;
    index_t count;
    index_t pieces;
  };
  const index_t pieces = std::min<index_t>(count, static_cast<index_t>(par.threads) * 4);
  const Loop loop{&body, count, pieces};
  ThreadPool::shared().run(
      par.threads, pieces,
      [](const void* context, index_t piece) {
        const Loop& l = *static_cast<const Loop*>(context);
        const index_t begin = l.count / l.pieces * piece + std::min(piece, l.count % l.pieces);
        const index_t end = begin + l.count / l.pieces + (piece < l.count % l.pieces ? 1 : 0);
        for (index_t i = begin; i < end; ++i) (*l.body)(i);
      },
      &loop);
}

// Sum of body(begin, end) over fixed-size chunks of [0, count).  The chunks do
// not depend on the thread count, so the result is bit-for-bit the same at any
// number of threads: measurement and sampling stay reproducible from a seed.
constexpr index_t kReduceChunk = index_t{1} << 12;

template <typename ChunkSum>
double deterministic_sum(const Parallelism& par, index_t count, ChunkSum&& chunk_sum) {
  const index_t chunks = (count + kReduceChunk - 1) / kReduceChunk;
  if (chunks <= 1) return count ? chunk_sum(index_t{0}, count) : 0.0;
  std::vector<double> partial(chunks);
  Parallelism per_chunk = par;
  per_chunk.min_items = std::max<index_t>(1, par.min_items / kReduceChunk);
  parallel_for(per_chunk, chunks, [&](index_t c) {
    const index_t begin = c * kReduceChunk;
    partial[c] = chunk_sum(begin, std::min(begin + kReduceChunk, count));
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace svsim
