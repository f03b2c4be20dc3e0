// Prototype of the spike exchange a distributed spikeblox would do (docs/scaling.md): every rank
// owns N/ranks neurons; every min-delay interval each rank sends the spikes its neurons fired in
// that interval to all ranks (MPI_Allgather of the counts, then MPI_Allgatherv of the spikes), as
// NEST (gather at the end of each min-delay slice) and Arbor (exchange once per epoch) do.
// Spikes are random (Bernoulli per neuron and step at `rate_hz`); only the communication is timed,
// so the figure is the exchange cost per simulated second that distribution would add.
//
// Not part of the CMake build. Build and run by hand:
//   mpicxx -std=c++20 -O2 bench/mpi_spike_exchange.cpp -o /tmp/mpi_spike_exchange
//   mpirun --allow-run-as-root -n 2 /tmp/mpi_spike_exchange [n_neurons=100000] [rate_hz=5]
//          [min_delay_ms=1.0] [simulated_s=10] [dt_ms=0.1]
// Each spike is 8 bytes: (global neuron id u32, step within the interval u32), the layout an
// implementation would send (NEST sends a similar packed target/lag word).
#define OMPI_SKIP_MPICXX 1  // C API only
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {
struct Spike {
  std::uint32_t gid;
  std::uint32_t lag;  // step within the min-delay interval
};
}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const long n_neurons = argc > 1 ? std::atol(argv[1]) : 100000;
  const double rate_hz = argc > 2 ? std::atof(argv[2]) : 5.0;
  const double min_delay_ms = argc > 3 ? std::atof(argv[3]) : 1.0;
  const double simulated_s = argc > 4 ? std::atof(argv[4]) : 10.0;
  const double dt_ms = argc > 5 ? std::atof(argv[5]) : 0.1;
  const int steps_per_interval = std::max(1, static_cast<int>(min_delay_ms / dt_ms + 0.5));
  const long n_intervals = static_cast<long>(simulated_s * 1000.0 / min_delay_ms + 0.5);

  // Round-robin ownership (gid % size == rank), as NEST and Arbor's default decomposition do.
  std::vector<std::uint32_t> mine;
  for (long g = rank; g < n_neurons; g += size) mine.push_back(static_cast<std::uint32_t>(g));
  std::mt19937_64 rng(1234u + static_cast<unsigned>(rank));
  // Spikes per interval of this rank ~ Binomial(n_local * steps, p); draw the count, then ids.
  const double p = rate_hz * dt_ms * 1e-3;
  std::binomial_distribution<long> count_dist(static_cast<long>(mine.size()) * steps_per_interval,
                                              p);
  std::uniform_int_distribution<std::size_t> pick(0, mine.size() - 1);
  std::uniform_int_distribution<std::uint32_t> lag(
      0, static_cast<std::uint32_t>(steps_per_interval - 1));

  std::vector<Spike> send, recv;
  std::vector<int> counts(static_cast<std::size_t>(size)), displs(static_cast<std::size_t>(size));
  MPI_Datatype spike_type;
  MPI_Type_contiguous(2, MPI_UINT32_T, &spike_type);
  MPI_Type_commit(&spike_type);

  double t_exchange = 0.0;
  std::vector<double> per_exchange;  // this rank's time of every timed exchange
  per_exchange.reserve(static_cast<std::size_t>(n_intervals));
  long long total_sent = 0, total_received = 0;
  for (int pass = 0; pass < 2; ++pass) {  // pass 0: warm-up (10 % of the intervals), not timed
    const long n = pass == 0 ? std::max(1L, n_intervals / 10) : n_intervals;
    MPI_Barrier(MPI_COMM_WORLD);
    for (long k = 0; k < n; ++k) {
      send.resize(static_cast<std::size_t>(count_dist(rng)));
      for (auto& s : send) s = {mine[pick(rng)], lag(rng)};
      // Untimed barrier: time the exchange itself, not the ranks' skew in generating spikes
      // (a real simulator pays load imbalance on top; that depends on the partition).
      MPI_Barrier(MPI_COMM_WORLD);
      const double t0 = MPI_Wtime();
      const int my_count = static_cast<int>(send.size());
      MPI_Allgather(&my_count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
      int total = 0;
      for (int r = 0; r < size; ++r) {
        displs[static_cast<std::size_t>(r)] = total;
        total += counts[static_cast<std::size_t>(r)];
      }
      recv.resize(static_cast<std::size_t>(total));
      MPI_Allgatherv(send.data(), my_count, spike_type, recv.data(), counts.data(), displs.data(),
                     spike_type, MPI_COMM_WORLD);
      const double t1 = MPI_Wtime();
      if (pass == 1) {
        t_exchange += t1 - t0;
        per_exchange.push_back(t1 - t0);
        total_sent += my_count;
        total_received += total;
      }
    }
  }
  // Median and 90th percentile of rank 0's exchanges: on a shared machine the total is dominated
  // by the few exchanges during which the other rank was descheduled; the median is the cost of
  // an exchange when both ranks run.
  std::sort(per_exchange.begin(), per_exchange.end());
  const double median = per_exchange[per_exchange.size() / 2];
  const double p90 = per_exchange[per_exchange.size() * 9 / 10];
  double t_max = 0.0;
  MPI_Reduce(&t_exchange, &t_max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  long long sent_all = 0;
  MPI_Reduce(&total_sent, &sent_all, 1, MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    std::printf(
        "ranks %d, neurons %ld, rate %.1f Hz, min_delay %.2f ms (%d steps of %.3f ms), %.1f s "
        "simulated: %ld exchanges, %lld spikes (%.0f per exchange, %.1f KiB received per rank "
        "per exchange)\n",
        size, n_neurons, rate_hz, min_delay_ms, steps_per_interval, dt_ms, simulated_s, n_intervals,
        sent_all, static_cast<double>(sent_all) / static_cast<double>(n_intervals),
        static_cast<double>(total_received) * sizeof(Spike) / 1024.0 /
            static_cast<double>(n_intervals));
    std::printf("exchange time (slowest rank): %.3f s per simulated s, %.2f us per exchange\n",
                t_max / simulated_s, 1e6 * t_max / static_cast<double>(n_intervals));
    std::printf(
        "per exchange (rank 0): median %.2f us, 90th percentile %.2f us -> median x "
        "exchanges = %.4f s per simulated s\n",
        1e6 * median, 1e6 * p90, median * static_cast<double>(n_intervals) / simulated_s);
  }
  MPI_Type_free(&spike_type);
  MPI_Finalize();
  return 0;
}
