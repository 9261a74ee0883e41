//go:build !unix

package childproc

import (
	"os"
	"syscall"
)

// Without process groups Stop can only kill the child itself.
func sysProcAttr() *syscall.SysProcAttr { return nil }

type signal int

const (
	sigTerm signal = iota
	sigKill
)

func signalGroup(p *os.Process, _ signal) error { return p.Kill() }
