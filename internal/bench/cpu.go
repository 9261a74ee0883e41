package bench

import (
	"syscall"
	"testing"
	"time"
)

// CPUPerOp starts counting the process's CPU time (user and system); the
// function it returns reports it per operation as cpu-µs/op. On a shared
// machine other load stretches wall time far more than the CPU an
// operation itself takes.
func CPUPerOp(b *testing.B) func() {
	b.Helper()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() { b.ReportMetric(float64((cpu()-start).Microseconds())/float64(b.N), "cpu-µs/op") }
}
