package medialink

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLength is the longest link Parse reads, in bytes. Signed raw-file URLs
// run to a couple of kilobytes; nothing real comes near this.
const MaxLength = 4096

// Sentinel errors; every error from Parse wraps exactly one of them.
var (
	// ErrUnsupported: the link is well formed but CyTube cannot play it.
	ErrUnsupported = errors.New("medialink: unsupported media link")
	// ErrInvalid: the link or its id is malformed.
	ErrInvalid = errors.New("medialink: invalid media link")
)

// Link is what CyTube's queue event needs: a media type code ("yt", "tw",
// "fi"…) and the id in that type's format.
type Link struct {
	Type string
	ID   string
}

// String returns CyTube's shorthand form, "type:id", which Parse accepts.
func (l Link) String() string { return l.Type + ":" + l.ID }

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

func unsupported(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, a...))
}

// quote quotes s for an error message, cut short so hostile input cannot
// flood a log or a chat line.
func quote(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	r := []rune(s)
	return fmt.Sprintf("%q…", string(r[:max]))
}

// Parse turns a media link, or CyTube's "type:id" shorthand, into the
// Link CyTube queues. See the package documentation for the forms read.
// Errors wrap ErrInvalid or ErrUnsupported and say what is wrong.
func Parse(link string) (Link, error) {
	if len(link) > MaxLength {
		return Link{}, invalid("link is %d bytes, more than %d", len(link), MaxLength)
	}
	link = strings.TrimSpace(link)
	if link == "" {
		return Link{}, invalid("empty link")
	}
	if !utf8.ValidString(link) {
		return Link{}, invalid("link is not valid UTF-8")
	}
	for _, r := range link {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return Link{}, invalid("link contains a space, control or invisible character (%U)", r)
		}
	}
	if typ, id, ok := shorthand(link); ok {
		return parseShort(typ, id)
	}
	return parseURL(link)
}

// shorthand splits CyTube's "xx:id" form: two letters and a colon.
func shorthand(s string) (typ, id string, ok bool) {
	if len(s) < 3 || s[2] != ':' || !isLetter(s[0]) || !isLetter(s[1]) {
		return "", "", false
	}
	return strings.ToLower(s[:2]), s[3:], true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// parseShort reads the id of a shorthand link. Like CyTube's client it cuts
// the id at the first ?, & or # (and _ for Dailymotion), except for types
// whose id is a whole URL.
func parseShort(typ, id string) (Link, error) {
	switch typ {
	case "fi", "cm", "hl", "rt":
		if id == "" {
			return Link{}, invalid("%s: missing URL after %q", typ, typ+":")
		}
		l, err := parseURL(id)
		if err != nil {
			return Link{}, err
		}
		if l.Type != typ {
			return Link{}, invalid("%s: %s is not a %s link (it reads as %q)", typ, quote(id), typeName(typ), l.Type)
		}
		return l, nil
	case "sc":
		return Link{}, errSoundCloud
	case "cu":
		return Link{}, unsupported("cu: custom embeds are queued as <iframe> HTML, not as links")
	case "yp":
		// CyTube keeps the whole id here; checkPlaylist refuses anything else.
		if id == "" {
			return Link{}, invalid("yp: missing playlist id")
		}
		return playlist(id)
	}
	cut := "?&#"
	if typ == "dm" {
		cut = "?&#_"
	}
	if i := strings.IndexAny(id, cut); i >= 0 {
		id = id[:i]
	}
	if _, known := typeNames[typ]; !known {
		return Link{}, unsupported("unknown media type %s", quote(typ))
	}
	if id == "" {
		return Link{}, invalid("%s: missing id", typ)
	}
	switch typ {
	case "tv":
		id = strings.TrimPrefix(id, "v")
	case "pt":
		d, v, ok := strings.Cut(id, ";")
		if !ok {
			return Link{}, invalid("pt: id must be host;video, got %s", quote(id))
		}
		return peerTube(strings.ToLower(d), v)
	case "od":
		u, v, ok := strings.Cut(id, ";")
		if !ok {
			return Link{}, invalid("od: id must be user;video, got %s", quote(id))
		}
		return odysee(u, v)
	case "bn":
		a, t, ok := strings.Cut(id, ";")
		if !ok {
			return Link{}, invalid("bn: id must be artist;track, got %s", quote(id))
		}
		return bandcamp(strings.ToLower(a), t)
	case "li":
		a, e, ok := strings.Cut(id, ";")
		if !ok {
			return Link{}, invalid("li: id must be account;event, got %s", quote(id))
		}
		return livestream(a, e)
	}
	return single(typ, id)
}

var typeNames = map[string]string{
	"yt": "YouTube video", "yp": "YouTube playlist", "vi": "Vimeo", "dm": "Dailymotion",
	"tw": "Twitch channel", "tv": "Twitch VOD", "tc": "Twitch clip", "sb": "Streamable",
	"gd": "Google Drive", "pt": "PeerTube", "bc": "BitChute", "od": "Odysee", "bn": "Bandcamp",
	"nv": "Niconico", "li": "Livestream.com", "hl": "HLS", "cm": "custom media manifest",
	"rt": "RTMP", "fi": "raw file",
}

func typeName(typ string) string { return typeNames[typ] }

var errSoundCloud = unsupported("SoundCloud: CyTube no longer plays SoundCloud (its API takes no new keys)")

// single validates the id of a type whose id is one path segment.
func single(typ, id string) (Link, error) {
	ok := false
	switch typ {
	case "yt":
		ok = len(id) == 11 && allIn(id, idChars)
	case "vi", "tv":
		ok = len(id) <= 20 && allIn(id, digits)
	case "dm":
		ok = len(id) <= 32 && allIn(id, alnum)
	case "tw":
		ok = len(id) <= 25 && allIn(id, alnum+"_") && !twitchReserved[strings.ToLower(id)]
	case "tc":
		ok = len(id) <= 100 && allIn(id, idChars) && id != "embed"
	case "sb":
		ok = len(id) <= 32 && allIn(id, idChars)
	case "gd":
		ok = len(id) <= 100 && allIn(id, idChars)
	case "bc":
		ok = len(id) >= 11 && len(id) <= 12 && allIn(id, idChars)
	case "nv":
		ok = len(id) >= 3 && len(id) <= 16 && allIn(id[:2], lower) && allIn(id[2:], digits)
	}
	if !ok {
		return Link{}, invalid("%s: %s is not a valid %s id", typ, quote(id), typeName(typ))
	}
	if typ == "tv" {
		id = "v" + id
	}
	return Link{Type: typ, ID: id}, nil
}

const (
	digits  = "0123456789"
	lower   = "abcdefghijklmnopqrstuvwxyz"
	alnum   = digits + lower + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	idChars = alnum + "_-"
	// segChars may appear in the path segments of Odysee and Bandcamp ids,
	// with %XX escapes; none of them is a separator in URLs or in ids.
	segChars = idChars + ".~!$'()*+,="
)

func allIn(s, set string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

// segment reports whether s is a non-empty escaped path segment of
// segChars and well-formed %XX escapes, and not "." or "..".
func segment(s string, max int) bool {
	if s == "" || len(s) > max || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
			continue
		}
		if strings.IndexByte(segChars, c) < 0 {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// Twitch paths that are pages, not channels.
var twitchReserved = map[string]bool{
	"videos": true, "directory": true, "search": true, "settings": true, "downloads": true,
	"p": true, "jobs": true, "login": true, "signup": true, "subscriptions": true,
	"inventory": true, "wallet": true, "drops": true, "friends": true, "messages": true,
	"payments": true, "prime": true, "turbo": true, "store": true, "clip": true, "embed": true,
}

// playlist validates a YouTube playlist id the way CyTube's client does.
func playlist(id string) (Link, error) {
	ok := strings.HasPrefix(id, "PL") && len(id) == 34 && allIn(id[2:], idChars) ||
		strings.HasPrefix(id, "PL") && len(id) == 18 && allIn(id[2:], digits+"ABCDEF") ||
		strings.HasPrefix(id, "OLA") && len(id) == 41 && allIn(id[3:], idChars)
	if !ok {
		if len(id) > 0 && allIn(id, idChars) {
			return Link{}, unsupported("yp: CyTube only queues user-created YouTube playlists (PL…), not %s", quote(id))
		}
		return Link{}, invalid("yp: %s is not a YouTube playlist id", quote(id))
	}
	return Link{Type: "yp", ID: id}, nil
}

func peerTube(domain, video string) (Link, error) {
	if !hostname(domain) || knownHost(domain) {
		return Link{}, invalid("pt: %s is not a PeerTube host name", quote(domain))
	}
	if !peerTubeID(video) {
		return Link{}, invalid("pt: %s is not a PeerTube video id (22-character short id or UUID)", quote(video))
	}
	return Link{Type: "pt", ID: domain + ";" + video}, nil
}

// peerTubeID: a 22-character short UUID or a lowercase 8-4-4-4-12 UUID,
// the two forms CyTube's client matches.
func peerTubeID(s string) bool {
	if len(s) == 22 {
		return allIn(s, alnum)
	}
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if strings.IndexByte(digits+"abcdef", s[i]) < 0 {
				return false
			}
		}
	}
	return true
}

// hostname: lowercase DNS name with at least two labels.
func hostname(h string) bool {
	if len(h) > 253 || !strings.Contains(h, ".") {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if !dnsLabel(label) {
			return false
		}
	}
	return true
}

func dnsLabel(l string) bool {
	return len(l) <= 63 && allIn(l, digits+lower+"-") && l[0] != '-' && l[len(l)-1] != '-'
}

func odysee(user, video string) (Link, error) {
	if !segment(user, 256) {
		return Link{}, invalid("od: %s is not an Odysee channel name", quote(user))
	}
	if !segment(video, 256) || looksLikeStream(video) {
		return Link{}, invalid("od: %s is not an Odysee video name", quote(video))
	}
	return Link{Type: "od", ID: user + ";" + video}, nil
}

func bandcamp(artist, track string) (Link, error) {
	if !dnsLabel(artist) || artist == "" {
		return Link{}, invalid("bn: %s is not a Bandcamp artist name", quote(artist))
	}
	if !segment(track, 256) || looksLikeStream(track) {
		return Link{}, invalid("bn: %s is not a Bandcamp track name", quote(track))
	}
	return Link{Type: "bn", ID: artist + ";" + track}, nil
}

// looksLikeStream reports whether the last segment of a path ends like an
// HLS stream or a custom manifest: such a URL would read as hl or cm (as in
// CyTube's client, the path's ending is looked at before the site).
func looksLikeStream(escaped string) bool {
	s, err := url.PathUnescape(escaped)
	if err != nil {
		return true
	}
	s = strings.ToLower(s)
	return strings.HasSuffix(s, ".json") || strings.HasSuffix(s, ".m3u8")
}

func livestream(account, event string) (Link, error) {
	if len(account) > 20 || len(event) > 20 || !allIn(account, digits) || !allIn(event, digits) {
		return Link{}, invalid("li: Livestream.com ids are numbers, got %s", quote(account+";"+event))
	}
	return Link{Type: "li", ID: account + ";" + event}, nil
}

// parseURL reads a full link (not shorthand).
func parseURL(link string) (Link, error) {
	u, err := url.Parse(link)
	if err == nil && u.Scheme == "" && !strings.HasPrefix(link, "/") {
		// "youtu.be/ID": read as https, as a browser would.
		link = "https://" + link
		u, err = url.Parse(link)
	}
	if err != nil {
		return Link{}, invalid("%s is not a URL", quote(link))
	}
	switch u.Scheme {
	case "http", "https", "rtmp":
	case "":
		return Link{}, invalid("%s is not a URL (no scheme)", quote(link))
	default:
		return Link{}, unsupported("%s links are not media links", quote(u.Scheme+":"))
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return Link{}, invalid("%s has no host", quote(link))
	}
	if u.User != nil {
		return Link{}, invalid("%s carries a user name or password; CyTube would show it to everyone", quote(link))
	}
	if u.Scheme == "rtmp" {
		return Link{Type: "rt", ID: link}, nil
	}
	path := strings.ToLower(u.Path)
	if strings.HasSuffix(path, ".m3u8") {
		if u.Scheme != "https" {
			return Link{}, unsupported("hl: CyTube plays HLS streams over https only")
		}
		return Link{Type: "hl", ID: link}, nil
	}
	if strings.HasSuffix(path, ".json") {
		return Link{Type: "cm", ID: link}, nil
	}

	host := strings.ToLower(u.Hostname())
	if p, ok := providers[site(host)]; ok {
		return p(u, segments(u.Path))
	}
	if strings.HasSuffix(host, ".bandcamp.com") {
		return bandcampURL(u, strings.TrimSuffix(host, ".bandcamp.com"))
	}
	if l, ok := peerTubeURL(u, host); ok {
		return l, nil
	}
	if u.Scheme != "https" {
		return Link{}, unsupported("fi: CyTube plays raw files over https only, not plain http")
	}
	lower := strings.ToLower(link)
	for _, s := range []string{"kissanime", "kimcartoon", "kisscartoon"} {
		if strings.Contains(lower, s) {
			return Link{}, unsupported("fi: CyTube does not support Kissanime and Kisscartoon")
		}
	}
	if strings.Contains(lower, "mega.nz") {
		return Link{}, unsupported("fi: CyTube does not support mega.nz")
	}
	return Link{Type: "fi", ID: link}, nil
}

// site drops the www. and m. prefixes that do not change the site.
func site(host string) string {
	host = strings.TrimPrefix(host, "www.")
	return strings.TrimPrefix(host, "m.")
}

func knownHost(host string) bool {
	_, ok := providers[site(host)]
	return ok || host == "bandcamp.com" || strings.HasSuffix(host, ".bandcamp.com")
}

// segments splits a decoded path into its non-empty segments.
func segments(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

type provider func(u *url.URL, seg []string) (Link, error)

var providers map[string]provider

func init() {
	providers = map[string]provider{
		"youtube.com": youtubeURL, "music.youtube.com": youtubeURL,
		"youtube-nocookie.com": youtubeURL, "youtu.be": youtuBe,
		"vimeo.com": vimeoURL, "player.vimeo.com": vimeoURL,
		"dailymotion.com": dailymotionURL, "dai.ly": daily,
		"soundcloud.com": soundCloud, "on.soundcloud.com": soundCloud,
		"w.soundcloud.com": soundCloud, "api.soundcloud.com": soundCloud,
		"twitch.tv": twitchURL, "clips.twitch.tv": clipsURL, "player.twitch.tv": twitchPlayer,
		"livestream.com":  livestreamURL,
		"streamable.com":  streamableURL,
		"docs.google.com": driveURL, "drive.google.com": driveURL,
		"bitchute.com": bitchuteURL, "old.bitchute.com": bitchuteURL,
		"nicovideo.jp": nicoURL, "sp.nicovideo.jp": nicoURL, "embed.nicovideo.jp": nicoURL,
		"nico.ms":    nicoMS,
		"odysee.com": odyseeURL,
	}
}

func youtubeURL(u *url.URL, seg []string) (Link, error) {
	q := u.Query()
	switch {
	case len(seg) == 1 && seg[0] == "watch":
		v := q.Get("v")
		if v == "" {
			return Link{}, invalid("yt: YouTube link without v=")
		}
		return single("yt", v)
	case len(seg) == 1 && seg[0] == "playlist":
		list := q.Get("list")
		if list == "" {
			return Link{}, invalid("yp: YouTube playlist link without list=")
		}
		return playlist(list)
	case len(seg) == 2 && seg[0] == "embed" && seg[1] == "videoseries":
		return playlist(q.Get("list"))
	case len(seg) == 2 && (seg[0] == "shorts" || seg[0] == "embed" || seg[0] == "live" || seg[0] == "v" || seg[0] == "e"):
		return single("yt", seg[1])
	}
	return Link{}, unsupported("yt: %s is a YouTube page, not a video or playlist", quote(u.Path))
}

func youtuBe(u *url.URL, seg []string) (Link, error) {
	if len(seg) != 1 {
		return Link{}, invalid("yt: youtu.be link without a video id")
	}
	return single("yt", seg[0])
}

func vimeoURL(u *url.URL, seg []string) (Link, error) {
	switch {
	case len(seg) >= 1 && allIn(seg[0], digits) && len(seg) <= 2:
		return single("vi", seg[0]) // vimeo.com/N or vimeo.com/N/unlisted-hash
	case len(seg) == 3 && seg[0] == "channels":
		return single("vi", seg[2])
	}
	for i := 0; i+1 < len(seg); i++ {
		if seg[i] == "video" || seg[i] == "videos" {
			return single("vi", seg[i+1])
		}
	}
	return Link{}, unsupported("vi: %s is a Vimeo page, not a video", quote(u.Path))
}

func dailymotionURL(u *url.URL, seg []string) (Link, error) {
	switch {
	case len(seg) == 2 && seg[0] == "video":
		return daily(u, seg[1:])
	case len(seg) == 3 && seg[0] == "embed" && seg[1] == "video":
		return daily(u, seg[2:])
	}
	return Link{}, unsupported("dm: %s is a Dailymotion page, not a video", quote(u.Path))
}

func daily(u *url.URL, seg []string) (Link, error) {
	if len(seg) != 1 {
		return Link{}, invalid("dm: Dailymotion link without a video id")
	}
	id, _, _ := strings.Cut(seg[0], "_") // old links add _title-slug
	return single("dm", id)
}

func soundCloud(*url.URL, []string) (Link, error) { return Link{}, errSoundCloud }

func twitchURL(u *url.URL, seg []string) (Link, error) {
	switch {
	case len(seg) == 2 && seg[0] == "videos":
		return single("tv", seg[1])
	case len(seg) == 3 && seg[1] == "v":
		return single("tv", seg[2])
	case len(seg) == 3 && seg[1] == "clip":
		return single("tc", seg[2])
	case len(seg) == 1:
		return single("tw", seg[0])
	}
	return Link{}, unsupported("tw: %s is a Twitch page, not a channel, VOD or clip", quote(u.Path))
}

func clipsURL(u *url.URL, seg []string) (Link, error) {
	if len(seg) == 1 && seg[0] == "embed" {
		return single("tc", u.Query().Get("clip"))
	}
	if len(seg) != 1 {
		return Link{}, invalid("tc: Twitch clip link without a clip id")
	}
	return single("tc", seg[0])
}

func twitchPlayer(u *url.URL, seg []string) (Link, error) {
	q := u.Query()
	if c := q.Get("channel"); c != "" {
		return single("tw", c)
	}
	if v := q.Get("video"); v != "" {
		return single("tv", strings.TrimPrefix(v, "v"))
	}
	return Link{}, invalid("tw: Twitch player link without channel= or video=")
}

func livestreamURL(u *url.URL, seg []string) (Link, error) {
	if len(seg) >= 4 && seg[0] == "accounts" && seg[2] == "events" {
		return livestream(seg[1], seg[3])
	}
	return Link{}, unsupported("li: this form of Livestream.com link is not supported; use one with the numeric account id (livestream.com/accounts/N/events/N)")
}

func streamableURL(u *url.URL, seg []string) (Link, error) {
	switch {
	case len(seg) == 2 && seg[0] == "e":
		return single("sb", seg[1])
	case len(seg) == 1:
		return single("sb", seg[0])
	}
	return Link{}, invalid("sb: Streamable link without a video id")
}

func driveURL(u *url.URL, seg []string) (Link, error) {
	switch {
	case len(seg) >= 3 && seg[0] == "file" && seg[1] == "d":
		return single("gd", seg[2])
	case len(seg) == 1 && (seg[0] == "open" || seg[0] == "uc"):
		id := u.Query().Get("id")
		if id == "" {
			return Link{}, invalid("gd: Google Drive link without id=")
		}
		return single("gd", id)
	}
	return Link{}, unsupported("gd: %s is not a Google Drive file link (folders and documents cannot play)", quote(u.Path))
}

func bitchuteURL(u *url.URL, seg []string) (Link, error) {
	if len(seg) == 2 && (seg[0] == "video" || seg[0] == "embed") {
		return single("bc", seg[1])
	}
	return Link{}, unsupported("bc: %s is a BitChute page, not a video", quote(u.Path))
}

func nicoURL(u *url.URL, seg []string) (Link, error) {
	if len(seg) == 2 && seg[0] == "watch" {
		return single("nv", seg[1])
	}
	return Link{}, unsupported("nv: %s is a Niconico page, not a video", quote(u.Path))
}

func nicoMS(u *url.URL, seg []string) (Link, error) {
	if len(seg) != 1 {
		return Link{}, invalid("nv: nico.ms link without a video id")
	}
	return single("nv", seg[0])
}

// odyseeURL reads /@user[:claim]/video[:claim]. The ids keep the path's
// escaping (as CyTube's client does) and drop the claim suffixes.
func odyseeURL(u *url.URL, _ []string) (Link, error) {
	seg := segments(u.EscapedPath())
	if len(seg) != 2 || !strings.HasPrefix(seg[0], "@") {
		return Link{}, unsupported("od: %s is not an Odysee video link (odysee.com/@channel/video)", quote(u.Path))
	}
	user, _, _ := strings.Cut(seg[0][1:], ":")
	video, _, _ := strings.Cut(seg[1], ":")
	return odysee(user, video)
}

func bandcampURL(u *url.URL, artist string) (Link, error) {
	seg := segments(u.EscapedPath())
	if len(seg) != 2 || seg[0] != "track" {
		return Link{}, unsupported("bn: CyTube plays Bandcamp tracks only (ARTIST.bandcamp.com/track/NAME)")
	}
	return bandcamp(artist, seg[1])
}

// peerTubeURL recognises a PeerTube video on any host, as CyTube's client
// does, by its path: /w/ID, /videos/watch/ID or /videos/embed/ID.
func peerTubeURL(u *url.URL, host string) (Link, bool) {
	seg := segments(u.Path)
	var id string
	switch {
	case len(seg) == 2 && seg[0] == "w":
		id = seg[1]
	case len(seg) == 3 && seg[0] == "videos" && (seg[1] == "watch" || seg[1] == "embed"):
		id = seg[2]
	default:
		return Link{}, false
	}
	l, err := peerTube(host, id)
	return l, err == nil
}

// URL rebuilds a link from CyTube's type and id (CyTube's own events carry
// no URL), the way CyTube's server does. It returns "" for types without a
// public URL (cu, unknown types) and for ids that would not make a clean
// URL, such as ones holding '/', '?', '#' or spaces: a hostile server cannot
// make it point somewhere else. Ids from Parse always give a URL.
func URL(typ, id string) string {
	if len(id) > MaxLength {
		return ""
	}
	two := func() (string, string, bool) {
		a, b, ok := strings.Cut(id, ";")
		return a, b, ok && segment(a, MaxLength) && segment(b, MaxLength)
	}
	switch typ {
	case "fi", "cm", "hl", "sc":
		return rawURL(id, "http", "https")
	case "rt":
		return rawURL(id, "rtmp")
	case "tv":
		if n := strings.TrimPrefix(id, "v"); allIn(n, digits) {
			return "https://www.twitch.tv/videos/" + n
		}
		return ""
	case "pt":
		if d, v, ok := two(); ok && hostname(strings.ToLower(d)) {
			return "https://" + d + "/videos/watch/" + v
		}
		return ""
	case "od":
		if u, v, ok := two(); ok {
			return "https://odysee.com/@" + u + "/" + v
		}
		return ""
	case "bn":
		if a, t, ok := two(); ok && dnsLabel(strings.ToLower(a)) {
			return "https://" + a + ".bandcamp.com/track/" + t
		}
		return ""
	case "li":
		if a, e, ok := two(); ok {
			return "https://livestream.com/accounts/" + a + "/events/" + e
		}
		return ""
	}
	if !segment(id, MaxLength) || strings.Contains(id, "%") {
		return ""
	}
	switch typ {
	case "yt":
		return "https://youtu.be/" + id
	case "yp":
		return "https://www.youtube.com/playlist?list=" + id
	case "vi":
		return "https://vimeo.com/" + id
	case "dm":
		return "https://dailymotion.com/video/" + id
	case "tw":
		return "https://twitch.tv/" + id
	case "tc":
		return "https://clips.twitch.tv/" + id
	case "sb":
		return "https://streamable.com/" + id
	case "gd":
		return "https://docs.google.com/file/d/" + id
	case "bc":
		return "https://www.bitchute.com/video/" + id + "/"
	case "nv":
		return "https://www.nicovideo.jp/watch/" + id
	}
	return ""
}

// rawURL returns id when it is a clean absolute URL with one of schemes.
func rawURL(id string, schemes ...string) string {
	for _, r := range id {
		if r <= ' ' || r == 0x7f || unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return ""
		}
	}
	u, err := url.Parse(id)
	if err != nil || u.Host == "" || u.User != nil {
		return ""
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return id
		}
	}
	return ""
}
