// The statevector: one 64-byte-aligned buffer of 2^n complex amplitudes, owned here.
#pragma once

#include <complex>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>

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
    const std::size_t bytes = (needed + alignment - 1) / alignment * alignment;
    data_ = static_cast<complex_t*>(std::aligned_alloc(alignment, bytes));
    if (data_ == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    // Huge pages cut the page faults of the first touch and the TLB misses of
    // every sweep; the kernel may refuse, which costs nothing.
    if (alignment == kHugePage) madvise(data_, bytes, MADV_HUGEPAGE);
#endif
    set_zero_state(par);
  }
  StateVector(const StateVector&) = delete;
  StateVector& operator=(const StateVector&) = delete;
  ~StateVector() { std::free(data_); }

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
};

}  // namespace svsim
