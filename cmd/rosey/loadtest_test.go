package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// rosey loadtest starts a bot of its own, offers a second of chat and
// prints the report: every command answered, none lost or duplicated.
func TestLoadTestCommand(t *testing.T) {
	for _, mode := range []string{"in-process", "distributed"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "distributed" && testing.Short() {
				t.Skip("starts a process per built-in plugin")
			}
			out, err := exec.Command(binary, "loadtest", "-rate", "40", "-duration", "1s", "-users", "4", "-mode", mode).CombinedOutput()
			if err != nil {
				t.Fatalf("%v:\n%s", err, out)
			}
			for _, want := range []string{`mode +` + mode, `lost +0\n`, `duplicated +0\n`, `answered +(\d+): ok (\d+), timed out 0, refused 0, errors 0`, `latency +p50 `, `memory +rss `} {
				if !regexp.MustCompile(want).Match(out) {
					t.Errorf("the report lacks %q:\n%s", want, out)
				}
			}
			m := regexp.MustCompile(`answered +(\d+): ok (\d+)`).FindSubmatch(out)
			if m == nil || string(m[1]) != string(m[2]) || string(m[1]) == "0" {
				t.Errorf("not every command was answered ok:\n%s", out)
			}
		})
	}
}

func TestLoadTestBadFlags(t *testing.T) {
	for args, want := range map[string]string{
		"-mix dance=3":   `unknown kind "dance"`,
		"-mode sideways": "not in-process or distributed",
		"-rate -5":       "rate -5 is negative",
	} {
		out, err := exec.Command(binary, append([]string{"loadtest", "-duration", "1s"}, strings.Fields(args)...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("rosey loadtest %s: %v, want an error with %q:\n%s", args, err, want, out)
		}
	}
}
