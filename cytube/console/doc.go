// Package console is a connector for trying a bot at a terminal, with no
// CyTube server and no network: lines typed on stdin become cytube.chat
// events from a local user, and what the bot sends (cytube.send.chat and
// cytube.send.pm) is printed. A line starting with "/pm " is sent as a
// private message instead; "/quit" ends the input. A line longer than
// MaxLine is cut, with a notice, and reading goes on.
package console
