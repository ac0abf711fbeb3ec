//go:build !unix

package marketplace

// lock is a no-op where flock is missing: run one install at a time.
func lock(string) (func(), error) { return func() {}, nil }
