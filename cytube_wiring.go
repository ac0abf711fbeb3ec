package rosey

import (
	"errors"
	"log/slog"

	"github.com/roseybot/rosey/eventbus"
)

// CyTubeConfig is a placeholder until the cytube package lands.
type CyTubeConfig struct {
	Channel         string       `json:"channel,omitempty"`
	User            string       `json:"user,omitempty"`
	Password        string       `json:"password,omitempty"`
	ChannelPassword string       `json:"channel_password,omitempty"`
	Logger          *slog.Logger `json:"-"`
}

func newCyTube(*eventbus.Bus, CyTubeConfig, *slog.Logger) (connector, error) {
	return nil, errors.New("rosey: cytube connector not available yet")
}
