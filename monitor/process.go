package monitor

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// The go_* and process_* metrics, under the names and meanings of the
// Prometheus client's Go and process collectors, so dashboards and alerts
// written for those keep working.

// runtimeSamples are the runtime/metrics read at each scrape.
var runtimeSamples = []string{
	"/gc/gogc:percent",
	"/gc/gomemlimit:bytes",
	"/gc/heap/allocs:bytes",
	"/gc/heap/allocs:objects",
	"/gc/heap/frees:objects",
	"/gc/heap/goal:bytes",
	"/gc/heap/objects:objects",
	"/gc/heap/tiny/allocs:objects",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/metadata/mcache/free:bytes",
	"/memory/classes/metadata/mcache/inuse:bytes",
	"/memory/classes/metadata/mspan/free:bytes",
	"/memory/classes/metadata/mspan/inuse:bytes",
	"/memory/classes/metadata/other:bytes",
	"/memory/classes/os-stacks:bytes",
	"/memory/classes/other:bytes",
	"/memory/classes/profiling/buckets:bytes",
	"/memory/classes/total:bytes",
	"/sched/gomaxprocs:threads",
	"/sched/goroutines:goroutines",
}

func collectGo(e *exposition) {
	ss := make([]metrics.Sample, len(runtimeSamples))
	for i, n := range runtimeSamples {
		ss[i].Name = n
	}
	metrics.Read(ss)
	v := make(map[string]float64, len(ss))
	for _, s := range ss {
		switch s.Value.Kind() {
		case metrics.KindUint64:
			v[s.Name] = float64(s.Value.Uint64())
		case metrics.KindFloat64:
			v[s.Name] = s.Value.Float64()
		}
	}
	gauge := func(name, help string, x float64) { e.add(name, typeGauge, help, x) }
	counter := func(name, help string, x float64) { e.add(name, typeCounter, help, x) }
	gauge("go_goroutines", "Number of goroutines that currently exist.", v["/sched/goroutines:goroutines"])
	threads, _ := runtime.ThreadCreateProfile(nil)
	gauge("go_threads", "Number of OS threads created.", float64(threads))
	gauge("go_sched_gomaxprocs_threads", "The current runtime.GOMAXPROCS setting.", v["/sched/gomaxprocs:threads"])
	e.add("go_info", typeGauge, "Information about the Go environment.", 1, "version", runtime.Version())
	gauge("go_gc_gogc_percent", "Heap size target percentage (GOGC).", v["/gc/gogc:percent"])
	gauge("go_gc_gomemlimit_bytes", "Go runtime memory limit (GOMEMLIMIT).", v["/gc/gomemlimit:bytes"])

	objects := v["/memory/classes/heap/objects:bytes"]
	idle := v["/memory/classes/heap/released:bytes"] + v["/memory/classes/heap/free:bytes"]
	inuse := objects + v["/memory/classes/heap/unused:bytes"]
	tiny := v["/gc/heap/tiny/allocs:objects"]
	gauge("go_memstats_alloc_bytes", "Number of bytes allocated in heap objects and still in use.", objects)
	gauge("go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and still in use.", objects)
	counter("go_memstats_alloc_bytes_total", "Total number of bytes allocated in the heap, even if freed.", v["/gc/heap/allocs:bytes"])
	counter("go_memstats_mallocs_total", "Total number of heap objects allocated, even if freed.", v["/gc/heap/allocs:objects"]+tiny)
	counter("go_memstats_frees_total", "Total number of heap objects freed.", v["/gc/heap/frees:objects"]+tiny)
	gauge("go_memstats_heap_objects", "Number of currently allocated heap objects.", v["/gc/heap/objects:objects"])
	gauge("go_memstats_heap_idle_bytes", "Number of heap bytes waiting to be used.", idle)
	gauge("go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use.", inuse)
	gauge("go_memstats_heap_released_bytes", "Number of heap bytes released to the OS.", v["/memory/classes/heap/released:bytes"])
	gauge("go_memstats_heap_sys_bytes", "Number of heap bytes obtained from the OS.", idle+inuse)
	gauge("go_memstats_stack_inuse_bytes", "Number of bytes in use by the stack allocator.", v["/memory/classes/heap/stacks:bytes"])
	gauge("go_memstats_stack_sys_bytes", "Number of bytes obtained from the OS for the stack allocator.", v["/memory/classes/heap/stacks:bytes"]+v["/memory/classes/os-stacks:bytes"])
	gauge("go_memstats_mspan_inuse_bytes", "Number of bytes in use by mspan structures.", v["/memory/classes/metadata/mspan/inuse:bytes"])
	gauge("go_memstats_mspan_sys_bytes", "Number of bytes used for mspan structures obtained from the OS.", v["/memory/classes/metadata/mspan/inuse:bytes"]+v["/memory/classes/metadata/mspan/free:bytes"])
	gauge("go_memstats_mcache_inuse_bytes", "Number of bytes in use by mcache structures.", v["/memory/classes/metadata/mcache/inuse:bytes"])
	gauge("go_memstats_mcache_sys_bytes", "Number of bytes used for mcache structures obtained from the OS.", v["/memory/classes/metadata/mcache/inuse:bytes"]+v["/memory/classes/metadata/mcache/free:bytes"])
	gauge("go_memstats_buck_hash_sys_bytes", "Number of bytes used by the profiling bucket hash table.", v["/memory/classes/profiling/buckets:bytes"])
	gauge("go_memstats_gc_sys_bytes", "Number of bytes used for garbage collection system metadata.", v["/memory/classes/metadata/other:bytes"])
	gauge("go_memstats_other_sys_bytes", "Number of bytes used for other system allocations.", v["/memory/classes/other:bytes"])
	gauge("go_memstats_sys_bytes", "Number of bytes obtained from the OS.", v["/memory/classes/total:bytes"])
	gauge("go_memstats_next_gc_bytes", "Heap size at which the next garbage collection takes place.", v["/gc/heap/goal:bytes"])

	gc := debug.GCStats{PauseQuantiles: make([]time.Duration, 5)}
	debug.ReadGCStats(&gc)
	var last float64
	if !gc.LastGC.IsZero() {
		last = float64(gc.LastGC.UnixNano()) / 1e9
	}
	gauge("go_memstats_last_gc_time_seconds", "Time of the last garbage collection, in seconds since 1970.", last)
	q := make([]float64, 0, 10)
	for i, p := range gc.PauseQuantiles {
		q = append(q, float64(i)/4, p.Seconds())
	}
	e.quantiles("go_gc_duration_seconds", "A summary of the wall-time pause (stop-the-world) of garbage collections.",
		q, uint64(gc.NumGC), gc.PauseTotal.Seconds())
}

// clockTicks is the kernel's USER_HZ, the unit of /proc's CPU times: 100
// on every Linux architecture Go supports.
const clockTicks = 100

// collectProcess adds the process's CPU time, memory and file
// descriptors, read from /proc; nothing where there is none.
func collectProcess(e *exposition) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return
	}
	// The fields after the command name, which is in parentheses and may
	// hold anything: state is f[0], utime f[11], stime f[12], starttime
	// f[19], vsize f[20], rss f[21] (in pages).
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 22 {
		return
	}
	num := func(i int) float64 { x, _ := strconv.ParseFloat(f[i], 64); return x }
	e.add("process_cpu_seconds_total", typeCounter, "Total user and system CPU time spent in seconds.", (num(11)+num(12))/clockTicks)
	e.add("process_virtual_memory_bytes", typeGauge, "Virtual memory size in bytes.", num(20))
	e.add("process_resident_memory_bytes", typeGauge, "Resident memory size in bytes.", num(21)*float64(os.Getpagesize()))
	if boot, ok := bootTime(); ok {
		e.add("process_start_time_seconds", typeGauge, "Start time of the process since unix epoch in seconds.", boot+num(19)/clockTicks)
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		e.add("process_open_fds", typeGauge, "Number of open file descriptors.", float64(len(fds)))
	}
	if limit, ok := maxFDs(); ok {
		e.add("process_max_fds", typeGauge, "Maximum number of open file descriptors.", limit)
	}
}

// bootTime is when the machine booted, in seconds since 1970 (the btime
// line of /proc/stat).
func bootTime() (float64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return x, err == nil
		}
	}
	return 0, false
}

// maxFDs is the soft limit of open files (/proc/self/limits).
func maxFDs() (float64, bool) {
	b, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				return 0, false
			}
			x, err := strconv.ParseFloat(f[0], 64)
			return x, err == nil
		}
	}
	return 0, false
}
