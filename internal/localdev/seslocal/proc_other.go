//go:build !unix

package seslocal

import (
	"os"
	"syscall"
)

// Without process groups Stop can only kill node itself.
func sysProcAttr() *syscall.SysProcAttr { return nil }

type signal int

const (
	sigTerm signal = iota
	sigKill
)

func signalGroup(p *os.Process, _ signal) error { return p.Kill() }
