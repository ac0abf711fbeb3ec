package supervisor

import "syscall"

// sysProcAttr makes the kernel send the child SIGTERM when its parent dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
