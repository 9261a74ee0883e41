//go:build unix && !linux

package childproc

import (
	"os"
	"syscall"
)

// sysProcAttr puts the child in its own process group so that Stop can signal
// the group. Only Linux offers Pdeathsig; elsewhere a parent killed with
// SIGKILL can leave the child running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

func signalGroup(p *os.Process, sig syscall.Signal) error {
	return syscall.Kill(-p.Pid, sig)
}
