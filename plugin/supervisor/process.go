package supervisor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/roseybot/rosey/plugin"
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/pluginenv"
)

// ProcessConfig configures a Process.
type ProcessConfig struct {
	// Info is the plugin the process serves; its Name must match.
	Info plugin.Info
	// Path and Args start the process (Args excludes the program name).
	Path string
	Args []string
	// Env is added to the parent's environment, then EnvFunc's result (read
	// at every launch, for values known only once the bot runs, such as the
	// embedded NATS server's URL). The plugin's config section is passed as
	// ROSEY_PLUGIN_CONFIG.
	Env     []string
	EnvFunc func() []string
	// BaseEnv, when not nil, is the environment the process starts from
	// instead of this process's own: a plugin the bot does not trust gets
	// none of the bot's secrets (ROSEY_CYTUBE_PASSWORD and the like).
	BaseEnv []string
	// BackoffMin and BackoffMax bound the delay before restarting a
	// process that exited; defaults 500ms and 30s. The delay starts again
	// from BackoffMin after the process ran for StableAfter (default 1m).
	BackoffMin, BackoffMax, StableAfter time.Duration
	// StopGrace is how long a process has to exit after SIGTERM before it
	// is killed; default 10s.
	StopGrace time.Duration
	// StartTimeout is how long Start waits for the process to announce
	// platform.plugin.<name>.started; default 30s.
	StartTimeout time.Duration
}

// Process runs a plugin as a supervised child process: started with the
// manager, restarted with backoff when it exits on its own, its output
// forwarded line by line to the plugin's logger, and terminated (SIGTERM,
// then SIGKILL) when the manager stops or reloads it. On Linux the child
// also gets SIGTERM if this process dies, so no orphans are left.
//
// The child serves the plugin's commands itself (see Serve); the manager
// treats a Process as Supervised and exposes no service for it.
type Process struct {
	cfg ProcessConfig

	mu      sync.Mutex
	cmd     *exec.Cmd
	stopped bool
	starts  int
}

// NewProcess returns a Process for cfg.
func NewProcess(cfg ProcessConfig) *Process {
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin = 500 * time.Millisecond
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 30 * time.Second
	}
	if cfg.StableAfter == 0 {
		cfg.StableAfter = time.Minute
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 10 * time.Second
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	return &Process{cfg: cfg}
}

// Info returns the plugin's Info.
func (p *Process) Info() plugin.Info { return p.cfg.Info }

// Supervised marks Process as Supervised.
func (p *Process) Supervised() bool { return true }

// Starts counts how many times the child was started (restarts included).
func (p *Process) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// PID returns the running child's process id, or 0.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Start launches the child, waits until it announces that it serves, and
// keeps it running until Stop.
func (p *Process) Start(ctx context.Context, h *plugin.Host) error {
	if p.cfg.Path == "" {
		return errors.New("supervisor: process: path is required")
	}
	p.mu.Lock()
	p.stopped = false
	p.mu.Unlock()
	ready := make(chan struct{}, 1)
	sub, err := h.Bus().Subscribe("platform.plugin."+p.cfg.Info.Name+"."+plugin.StateStarted, func(context.Context, *eventbus.Event) {
		select {
		case ready <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	first := make(chan error, 1)
	h.Go(func(ctx context.Context) { p.supervise(ctx, h, first) })
	if err := <-first; err != nil {
		return err
	}
	timeout := time.NewTimer(p.cfg.StartTimeout)
	defer timeout.Stop()
	select {
	case <-ready:
		return nil
	case <-timeout.C:
		err = fmt.Errorf("supervisor: process %s did not announce itself within %s", p.cfg.Info.Name, p.cfg.StartTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	_ = p.Stop(context.Background())
	return err
}

func (p *Process) supervise(ctx context.Context, h *plugin.Host, first chan<- error) {
	log := h.Logger()
	delay := p.cfg.BackoffMin
	for attempt := 0; ; attempt++ {
		cmd := exec.Command(p.cfg.Path, p.cfg.Args...)
		base := p.cfg.BaseEnv
		if base == nil {
			base = os.Environ()
		}
		cmd.Env = append(slices.Clip(base), p.cfg.Env...)
		if p.cfg.EnvFunc != nil {
			cmd.Env = append(cmd.Env, p.cfg.EnvFunc()...)
		}
		if len(h.Config()) > 0 {
			cmd.Env = append(cmd.Env, plugin.EnvPluginConfig+"="+string(h.Config()))
		}
		cmd.SysProcAttr = sysProcAttr()
		out, err := cmd.StdoutPipe()
		if err == nil {
			cmd.Stderr = cmd.Stdout // one pipe, lines in order
			err = cmd.Start()
		}
		if attempt == 0 {
			first <- err
		}
		if err != nil {
			if attempt == 0 {
				return
			}
			log.Error("plugin process failed to start", "err", err)
		} else {
			p.mu.Lock()
			p.cmd = cmd
			p.starts++
			p.mu.Unlock()
			log.Info("plugin process started", "pid", cmd.Process.Pid)
			began := time.Now()
			forward(out, h)
			err = cmd.Wait()
			p.mu.Lock()
			p.cmd = nil
			stopped := p.stopped
			p.mu.Unlock()
			if stopped || ctx.Err() != nil {
				log.Info("plugin process stopped", "pid", cmd.Process.Pid)
				return
			}
			log.Warn("plugin process exited; restarting", "pid", cmd.Process.Pid, "err", err, "after", delay)
			if time.Since(began) >= p.cfg.StableAfter {
				delay = p.cfg.BackoffMin
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, p.cfg.BackoffMax)
	}
}

// forward copies the child's output lines into the plugin's log.
func forward(r io.Reader, h *plugin.Host) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		h.Logger().Info("plugin process output", "line", sc.Text())
	}
}

// Stop terminates the child: SIGTERM, then SIGKILL after StopGrace.
func (p *Process) Stop(ctx context.Context) error {
	p.mu.Lock()
	p.stopped = true
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("supervisor: process %s: %w", p.cfg.Info.Name, err)
	}
	grace := time.NewTimer(p.cfg.StopGrace)
	defer grace.Stop()
	for {
		p.mu.Lock()
		gone := p.cmd == nil
		p.mu.Unlock()
		if gone {
			return nil
		}
		select {
		case <-grace.C:
			_ = cmd.Process.Kill()
			return fmt.Errorf("supervisor: process %s did not stop in %s; killed", p.cfg.Info.Name, p.cfg.StopGrace)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// BusEnv returns the environment variables (ROSEY_NATS_URL and friends)
// that make plugin.Serve connect as bc says: how a bot hands its NATS
// address and credentials to the plugin processes it starts (see
// ProcessConfig.EnvFunc). TLS settings and the inbox prefix are not passed
// (a plugin derives its own prefix).
func BusEnv(bc eventbus.Config) []string { return pluginenv.Env(bc) }

// ServeArgs runs p as plugin.Serve does, with the flags in args rather
// than the program's own: the other side of a Process whose Args start a
// binary that serves several plugins ("mybot plugin NAME -nats …"). It
// returns when ctx ends or the connection closes for good.
func ServeArgs(ctx context.Context, p plugin.Plugin, args []string) error {
	name := p.Info().Name
	set, err := pluginenv.Parse(name, args, os.Getenv, plugin.InboxPrefix(name))
	if err != nil {
		return err
	}
	return plugin.ServeContext(ctx, p, plugin.ServeConfig{Bus: set.Bus, Config: set.Config, Logger: set.Logger})
}
