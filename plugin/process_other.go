//go:build !linux

package plugin

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
