package loadtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrNoProc is returned where the process figures cannot be read: they
// come from /proc, so Linux only.
var ErrNoProc = errors.New("loadtest: no /proc to read CPU and memory from")

// clockTick is the kernel's USER_HZ, the unit of /proc/<pid>/stat's CPU
// times: 100 on every Linux architecture Go supports.
const clockTick = 100

// Usage is the CPU time and memory of a set of processes, read from /proc.
type Usage struct {
	// Processes is how many processes were read.
	Processes int
	// CPU is the user and system time they used.
	CPU time.Duration
	// RSS is their resident memory now, summed.
	RSS int64
	// Anon is the part of RSS that is their own (heap, stacks): the rest
	// is the program's file mapped in, shared by every process running
	// the same binary (a distributed bot's plugin processes).
	Anon int64
	// PSS is their proportional set size: each page shared between them
	// (the binary they all map, in a distributed bot) counted once in
	// all. Zero where the kernel does not say (smaps_rollup, Linux 4.14).
	PSS int64
	// PeakRSS is the sum of each one's peak resident memory (VmHWM): an
	// upper bound of their peak together.
	PeakRSS int64
}

// ReadUsage reads the usage of the processes pids.
func ReadUsage(pids ...int) (Usage, error) {
	var u Usage
	for _, pid := range pids {
		p, err := readProcess(pid)
		if err != nil {
			return u, err
		}
		u.Processes++
		u.CPU += p.cpu
		u.RSS += p.rss
		u.Anon += p.anon
		u.PSS += p.pss
		u.PeakRSS += p.peak
	}
	return u, nil
}

// Family returns this process's id followed by those of its descendants
// (the plugin processes of a distributed bot), or only its own where there
// is no /proc.
func Family() []int {
	self := os.Getpid()
	out := []int{self}
	parents := map[int]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		pid, ppid, ok := parentOf(f)
		if ok {
			parents[pid] = ppid
		}
	}
	for i := 0; i < len(out); i++ {
		for pid, ppid := range parents {
			if ppid == out[i] {
				out = append(out, pid)
			}
		}
	}
	return out
}

// ResetPeak starts the processes' peak resident memory afresh (Linux
// clear_refs), so a run's peak is its own, not its start-up's. Errors are
// ignored: without it the peak counts from the process's start.
func ResetPeak(pids ...int) {
	for _, pid := range pids {
		_ = os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
	}
}

type process struct {
	cpu                  time.Duration
	rss, anon, pss, peak int64
}

func readProcess(pid int) (process, error) {
	var p process
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, e := os.Stat("/proc/self"); e != nil {
				return p, ErrNoProc
			}
		}
		return p, fmt.Errorf("loadtest: process %d: %w", pid, err)
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14 and stime 15.
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return p, fmt.Errorf("loadtest: process %d: short stat line", pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	p.cpu = time.Duration(utime+stime) * time.Second / clockTick
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return p, fmt.Errorf("loadtest: process %d: %w", pid, err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch key {
		case "VmRSS":
			dst = &p.rss
		case "RssAnon":
			dst = &p.anon
		case "VmHWM":
			dst = &p.peak
		default:
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(val), "kB")), 10, 64)
		*dst = kb * 1024
	}
	if rollup, err := os.ReadFile(dir + "/smaps_rollup"); err == nil {
		for line := range strings.SplitSeq(string(rollup), "\n") {
			if val, ok := strings.CutPrefix(line, "Pss:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(val), "kB")), 10, 64)
				p.pss = kb * 1024
				break
			}
		}
	}
	return p, nil
}

func parentOf(statFile string) (pid, ppid int, ok bool) {
	stat, err := os.ReadFile(statFile)
	if err != nil {
		return 0, 0, false
	}
	open := bytes.IndexByte(stat, '(')
	i := bytes.LastIndexByte(stat, ')')
	if open < 1 || i < 0 {
		return 0, 0, false
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(stat[:open])))
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return pid, ppid, err == nil
}
