// The statevector: one 64-byte-aligned buffer of 2^n complex amplitudes, owned here.
#pragma once

#include <complex>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "parallel.h"

namespace svsim {

// A statevector's amplitudes, or a block of them seen as a smaller state:
// what the kernels work on.  It owns nothing and copies cheaply.
template <typename T>
class StateView {
 public:
  using complex_t = std::complex<T>;

  StateView(complex_t* data, unsigned num_qubits) : data_(data), num_qubits_(num_qubits) {}

  unsigned num_qubits() const { return num_qubits_; }
  index_t size() const { return index_t{1} << num_qubits_; }
  complex_t* data() const { return data_; }
  complex_t& operator[](index_t i) const { return data_[i]; }

 protected:
  complex_t* data_;
  unsigned num_qubits_;
};

// Keeps the last freed state buffer of at most kMaxBytes for the next state
// of its size, as malloc keeps blocks of up to 32 MiB on the main thread (but
// not on the threads where jobs run).  A fresh buffer costs the kernel's page
// faults and clearing: 1 to 1.5 ms for 16 MiB here, more than a 20-qubit GHZ
// circuit takes to run, and for 32 MiB 4 to 40 ms a run (GHZ-22 in single on
// 2 threads, against 3 ms for the circuit).  At most kMaxBytes stay held
// after the last job.  Buffers under kMinBytes come from malloc's heap at
// no such cost, and must not push out the one kept (fusion frees small states
// while it builds the matrices of fused gates).
class FreedStateBuffer {
 public:
  static constexpr std::size_t kMinBytes = std::size_t{2} << 20;
  static constexpr std::size_t kMaxBytes = std::size_t{32} << 20;

  // A buffer of exactly `bytes`, or nullptr.
  static void* take(std::size_t bytes) {
    Slot& slot = instance();
    std::lock_guard<std::mutex> lock(slot.mutex);
    if (slot.buffer == nullptr || slot.bytes != bytes) return nullptr;
    return std::exchange(slot.buffer, nullptr);
  }

  // Keeps `buffer` (in place of the one kept before) or frees it.
  static void give(void* buffer, std::size_t bytes) {
    if (bytes < kMinBytes || bytes > kMaxBytes) return std::free(buffer);
    Slot& slot = instance();
    std::lock_guard<std::mutex> lock(slot.mutex);
    std::free(slot.buffer);
    slot.buffer = buffer;
    slot.bytes = bytes;
  }

 private:
  struct Slot {
    std::mutex mutex;
    void* buffer = nullptr;
    std::size_t bytes = 0;
  };
  // Never destroyed: a state freed while the process exits may still give its buffer.
  static Slot& instance() {
    static Slot* slot = new Slot;
    return *slot;
  }
};

// The owner of one state: a single aligned buffer of 2^n amplitudes.
template <typename T>
class StateVector : public StateView<T> {
 public:
  using complex_t = std::complex<T>;
  using StateView<T>::data_;
  using StateView<T>::size;

  static constexpr std::size_t kVectorAlignment = 64;
  // States of at least this size start on a boundary of it, so that they can use huge pages.
  static constexpr std::size_t kHugePage = std::size_t{1} << 21;

  StateVector(unsigned num_qubits, const Parallelism& par) : StateView<T>(nullptr, num_qubits) {
    if (num_qubits >= 8 * sizeof(index_t) - 6) {
      throw std::invalid_argument("too many qubits for a statevector: " +
                                  std::to_string(num_qubits));
    }
    const std::size_t needed = size() * sizeof(complex_t);
    const std::size_t alignment = needed >= kHugePage ? kHugePage : kVectorAlignment;
    bytes_ = (needed + alignment - 1) / alignment * alignment;
    data_ = static_cast<complex_t*>(FreedStateBuffer::take(bytes_));
    if (data_ == nullptr) data_ = static_cast<complex_t*>(std::aligned_alloc(alignment, bytes_));
    if (data_ == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    // Huge pages cut the page faults of the first touch and the TLB misses of
    // every sweep; the kernel may refuse, which costs nothing.
    if (alignment == kHugePage) madvise(data_, bytes_, MADV_HUGEPAGE);
#endif
    set_zero_state(par);
  }
  StateVector(const StateVector&) = delete;
  StateVector& operator=(const StateVector&) = delete;
  ~StateVector() { FreedStateBuffer::give(data_, bytes_); }

  // Written in parallel so that each thread first touches the pages it will use.
  void set_zero_state(const Parallelism& par) {
    complex_t* data = data_;
    parallel_for(par, size(), [data](index_t i) { data[i] = complex_t(0); });
    data[0] = complex_t(1);
  }

  void copy_from(const StateVector& other, const Parallelism& par) {
    if (other.size() != size()) throw std::invalid_argument("state sizes differ");
    const complex_t* source = other.data_;
    complex_t* data = data_;
    parallel_for(par, size(), [data, source](index_t i) { data[i] = source[i]; });
  }

 private:
  std::size_t bytes_;
};

}  // namespace svsim
