// Package seen is Rosey's seen plugin: !seen <user> tells when the user was
// last here and what they last said.
//
//	👀 Bob is here now. Last said 3h 12m ago: "hello there"
//	👀 erin was last seen 2d 4h ago, leaving. Last said 2d 4h ago: "brb"
//	🤷 I have not seen zed.
//
// The plugin follows cytube.chat, cytube.user.join and cytube.user.leave
// through a single subscription (so they are stored in the order they were
// published) and stores one document per user, under the lower-cased name,
// through the database service, so it survives restarts. Names compare
// case-insensitively. When the connector reports a (re)connection everyone
// is marked absent, since CyTube then announces again everyone present.
//
// A !seen said in the channel is answered after every line said before it
// has been stored.
//
// Config section (optional):
//
//	{"collection": "seen"}
package seen
