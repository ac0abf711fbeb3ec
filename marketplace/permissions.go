package marketplace

import (
	"fmt"
	"slices"
	"strings"
)

// Permissions are what a plugin's own NATS user may do.
type Permissions struct {
	Publish   []string `json:"publish"`
	Subscribe []string `json:"subscribe"`
	// AllowResponses lets the user answer the requests it receives (one
	// reply each), with no publish grant on the requesters' inboxes.
	AllowResponses bool `json:"allow_responses"`
}

// PermissionsFor returns the grants of plugin name's NATS user: what every
// plugin gets (its commands, micro service discovery, the replies to its
// own requests under plugin.InboxPrefix, its database namespace, its
// lifecycle subjects, answering requests), plus the subjects its manifest
// declares. prefix is the bot's subject prefix ("" or "bot1"); $SRV and
// _INBOX subjects are never prefixed. It is docs/examples/least-privilege.conf's
// plugin block, made for one plugin.
func PermissionsFor(name, prefix string, declared Subjects) Permissions {
	p := func(s string) string {
		if prefix == "" {
			return s
		}
		return strings.TrimSuffix(prefix, ".") + "." + s
	}
	perm := Permissions{AllowResponses: true}
	perm.Subscribe = append(perm.Subscribe, p("plugin."+name+".>"))
	for _, verb := range []string{"PING", "INFO", "STATS"} {
		perm.Subscribe = append(perm.Subscribe, "$SRV."+verb, "$SRV."+verb+"."+name, "$SRV."+verb+"."+name+".*")
	}
	perm.Subscribe = append(perm.Subscribe, "_INBOX.plugin."+name+".>")
	for _, s := range declared.Subscribe {
		perm.Subscribe = append(perm.Subscribe, p(s))
	}
	perm.Publish = append(perm.Publish, p("database."+name+".>"), p("platform.plugin."+name+".>"))
	for _, s := range declared.Publish {
		perm.Publish = append(perm.Publish, p(s))
	}
	perm.Publish, perm.Subscribe = dedupe(perm.Publish), dedupe(perm.Subscribe)
	return perm
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// subjectMeaning says in words what a declared subject lets a plugin do.
func subjectMeaning(s string, publish bool) string {
	verb := "receive messages on"
	if publish {
		verb = "publish on"
	}
	switch {
	case publish && (s == "cytube.send.chat" || s == "cytube.send.*" || s == "cytube.send.>"):
		if s == "cytube.send.chat" {
			return "say things in the channel's chat on its own (" + s + ")"
		}
		return "say things in chat and send private messages on its own (" + s + ")"
	case publish && s == "cytube.send.pm":
		return "send private messages on its own (" + s + ")"
	case publish && strings.HasPrefix(s, "cytube.do."):
		return "act in the channel: playlist, polls, moderation as the bot's rank allows (" + s + ")"
	case !publish && (s == "cytube.>" || s == "cytube.*" || s == "cytube.chat"):
		return "read the channel's chat as it happens (" + s + ")"
	case !publish && s == "cytube.pm":
		return "read the private messages the bot receives (" + s + ")"
	case !publish && strings.HasPrefix(s, "cytube."):
		return "watch the channel's events (" + s + ")"
	case strings.HasPrefix(s, "database."):
		return "⚠️ use another namespace of the database: " + verb + " " + s
	case strings.HasPrefix(s, "platform."):
		return "⚠️ reach the bot's own controls: " + verb + " " + s
	case strings.HasPrefix(s, "plugin."):
		return "⚠️ reach other plugins' commands: " + verb + " " + s
	}
	return verb + " " + s
}

// Prompt is the text shown to the bot owner before a plugin is installed
// or upgraded: what it is, where it comes from, and what its NATS user
// will be allowed to do beyond what every plugin may.
func Prompt(m Manifest, source string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", m.Name, m.Version)
	if m.Description != "" {
		fmt.Fprintf(&b, ": %s", m.Description)
	}
	fmt.Fprintf(&b, "\n  from %s", source)
	if m.License != "" {
		fmt.Fprintf(&b, " (licence %s)", m.License)
	}
	b.WriteString("\n  It will run as its own process, under a NATS user of its own that may:\n")
	var cmds []string
	for _, c := range m.Commands {
		cmds = append(cmds, "!"+c.Name)
	}
	if len(cmds) > 0 {
		fmt.Fprintf(&b, "    • answer its commands: %s\n", strings.Join(cmds, ", "))
	} else {
		b.WriteString("    • answer its own command subject (it declares no commands)\n")
	}
	fmt.Fprintf(&b, "    • keep data in its own part of the bot's database (database.%s.*)\n", m.Name)
	for _, s := range m.Subjects.Publish {
		fmt.Fprintf(&b, "    • %s\n", subjectMeaning(s, true))
	}
	for _, s := range m.Subjects.Subscribe {
		fmt.Fprintf(&b, "    • %s\n", subjectMeaning(s, false))
	}
	cannot := []string{}
	if !slices.ContainsFunc(m.Subjects.Subscribe, func(s string) bool { return strings.HasPrefix(s, "cytube.") }) {
		cannot = append(cannot, "read the chat")
	}
	if !slices.ContainsFunc(m.Subjects.Publish, func(s string) bool { return strings.HasPrefix(s, "cytube.") }) {
		cannot = append(cannot, "speak in chat except to answer its commands")
	}
	cannot = append(cannot, "read other plugins' data or replies", "or pose as another plugin")
	fmt.Fprintf(&b, "  and nothing else: the NATS server refuses the rest (it cannot %s).\n", strings.Join(cannot, ", "))
	return b.String()
}
