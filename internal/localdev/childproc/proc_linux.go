package childproc

import (
	"os"
	"syscall"
)

// sysProcAttr puts the child in its own process group, so that Stop can signal
// the group and a terminal's Ctrl-C reaches only the parent, and asks the
// kernel to SIGKILL the child when the parent dies, so that it never outlives us.
//
// Pdeathsig fires when the OS thread that started the child exits. Go only
// retires a thread when a goroutine locked to it exits, which Start never
// does, so in practice this means "when the parent process dies".
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

// signalGroup signals every process in p's process group (Setpgid made p
// the group leader, so the group ID is p's pid).
func signalGroup(p *os.Process, sig syscall.Signal) error {
	return syscall.Kill(-p.Pid, sig)
}
