package plugin_test

import (
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/internal/pluginenv"
	"github.com/roseybot/rosey/plugin"
)

// The variables a plugin author reads about are the ones Serve reads and a
// supervisor writes.
func TestEnvNamesAreTheSupervisors(t *testing.T) {
	is := is.New(t)
	for _, pair := range [][2]string{
		{plugin.EnvNATSURL, pluginenv.NATSURL}, {plugin.EnvNATSUser, pluginenv.NATSUser},
		{plugin.EnvNATSPassword, pluginenv.NATSPassword}, {plugin.EnvNATSToken, pluginenv.NATSToken},
		{plugin.EnvNATSCreds, pluginenv.NATSCreds}, {plugin.EnvNATSNKey, pluginenv.NATSNKey},
		{plugin.EnvNATSPrefix, pluginenv.NATSPrefix}, {plugin.EnvNATSInboxPrefix, pluginenv.NATSInboxPrefix},
		{plugin.EnvPluginConfig, pluginenv.PluginConfig}, {plugin.EnvLogLevel, pluginenv.LogLevel},
		{plugin.EnvPluginManifest, pluginenv.PluginManifest},
		{plugin.DefaultNATSURL, pluginenv.DefaultNATSURL},
	} {
		is.Equal(pair[0], pair[1])
	}
}
