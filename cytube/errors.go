package cytube

import "errors"

// Sentinel errors. Errors from the connector wrap one of these, so callers
// test them with errors.Is. The fatal ones (see IsFatal) stop the connector:
// retrying cannot help and would only hammer the server.
var (
	ErrInvalidConfig = errors.New("cytube: invalid config")
	// ErrNoSuchChannel: discovery answered 404 or the server rejected the
	// channel name. Fatal.
	ErrNoSuchChannel = errors.New("cytube: no such channel")
	// ErrBadPassword: wrong user name/password, or no such account. Fatal.
	ErrBadPassword = errors.New("cytube: wrong user name or password")
	// ErrInvalidName: the user name is invalid or reserved. Fatal.
	ErrInvalidName = errors.New("cytube: invalid or reserved user name")
	// ErrRegisteredName: a guest tried a registered account's name. Fatal.
	ErrRegisteredName = errors.New("cytube: user name is registered; set a password")
	// ErrNameTaken: another user in the channel has the name. Fatal.
	ErrNameTaken = errors.New("cytube: user name already in use on this channel")
	// ErrChannelPassword: the channel password is missing or wrong. Fatal.
	ErrChannelPassword = errors.New("cytube: channel password missing or wrong")
	// ErrBanned: banned from the server or the channel. Fatal.
	ErrBanned = errors.New("cytube: banned")
	// ErrDuplicateLogin: the same account logged in elsewhere and this
	// session was evicted. Fatal, so two copies of the bot do not fight.
	ErrDuplicateLogin = errors.New("cytube: duplicate login: the bot logged in elsewhere")
	// ErrLoginFailed: a login failure the connector does not recognise. Fatal.
	ErrLoginFailed = errors.New("cytube: login failed")

	// ErrKicked: a moderator kicked the bot. The connector reconnects.
	ErrKicked = errors.New("cytube: kicked")
	// ErrRateLimited: the server refused the connection ("Rate limit
	// exceeded"). The connector waits and reconnects.
	ErrRateLimited = errors.New("cytube: connection rate limit exceeded")
	// ErrDeadConnection: nothing arrived for too long. The connector reconnects.
	ErrDeadConnection = errors.New("cytube: connection dead")
	// ErrDisconnected: the server closed the connection. The connector reconnects.
	ErrDisconnected = errors.New("cytube: disconnected by server")
	// ErrDiscovery: the socket URL could not be discovered. The connector retries.
	ErrDiscovery = errors.New("cytube: discovery failed")
	// ErrProtocol: the server broke the protocol. The connector reconnects.
	ErrProtocol = errors.New("cytube: protocol error")

	// ErrAlreadyStarted is returned by a second Start.
	ErrAlreadyStarted = errors.New("cytube: connector already started")
	// ErrNotStarted is returned by Stop before Start.
	ErrNotStarted = errors.New("cytube: connector not started")
)

var fatal = []error{
	ErrNoSuchChannel, ErrBadPassword, ErrInvalidName, ErrRegisteredName, ErrNameTaken,
	ErrChannelPassword, ErrBanned, ErrDuplicateLogin, ErrLoginFailed, ErrInvalidConfig,
}

// IsFatal reports whether err is one after which reconnecting cannot help.
func IsFatal(err error) bool {
	for _, f := range fatal {
		if errors.Is(err, f) {
			return true
		}
	}
	return false
}
