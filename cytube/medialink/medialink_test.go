package medialink_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/cytube/medialink"
)

const (
	ytID   = "dQw4w9WgXcQ"
	ytList = "PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI"
	ptUUID = "9c9de5e8-0a1e-484a-b099-e80766180a6d"
	ptShrt = "kkGMgK9ZtnKfYAgnEtQxbv"
)

// validLinks are the link forms Parse reads, with the Link CyTube's client
// would send for each (or the cleaner one where the client is broken).
var validLinks = []struct {
	in   string
	want medialink.Link
}{
	// YouTube
	{"https://www.youtube.com/watch?v=" + ytID, medialink.Link{Type: "yt", ID: ytID}},
	{"https://youtube.com/watch?v=" + ytID + "&t=42s", medialink.Link{Type: "yt", ID: ytID}},
	{"https://m.youtube.com/watch?feature=share&v=" + ytID, medialink.Link{Type: "yt", ID: ytID}},
	{"https://music.youtube.com/watch?v=" + ytID + "&list=" + ytList, medialink.Link{Type: "yt", ID: ytID}},
	{"https://www.youtube.com/watch?v=" + ytID + "&v=AAAAAAAAAAA", medialink.Link{Type: "yt", ID: ytID}},
	{"https://youtu.be/" + ytID, medialink.Link{Type: "yt", ID: ytID}},
	{"https://youtu.be/" + ytID + "?t=1m2s&si=abc", medialink.Link{Type: "yt", ID: ytID}},
	{"youtu.be/" + ytID, medialink.Link{Type: "yt", ID: ytID}},
	{"  https://youtu.be/" + ytID + "\n", medialink.Link{Type: "yt", ID: ytID}},
	{"HTTPS://WWW.YOUTUBE.COM/watch?v=" + ytID, medialink.Link{Type: "yt", ID: ytID}},
	{"https://www.youtube.com/shorts/" + ytID, medialink.Link{Type: "yt", ID: ytID}},
	{"https://youtube.com/shorts/" + ytID + "?feature=share", medialink.Link{Type: "yt", ID: ytID}},
	{"https://www.youtube.com/embed/" + ytID + "?start=30", medialink.Link{Type: "yt", ID: ytID}},
	{"https://www.youtube-nocookie.com/embed/" + ytID, medialink.Link{Type: "yt", ID: ytID}},
	{"https://www.youtube.com/live/" + ytID + "?si=x", medialink.Link{Type: "yt", ID: ytID}},
	{"https://www.youtube.com/v/" + ytID, medialink.Link{Type: "yt", ID: ytID}},
	{"yt:" + ytID, medialink.Link{Type: "yt", ID: ytID}},
	{"YT:" + ytID, medialink.Link{Type: "yt", ID: ytID}},
	{"yt:" + ytID + "&list=x", medialink.Link{Type: "yt", ID: ytID}},
	{"https://www.youtube.com/playlist?list=" + ytList, medialink.Link{Type: "yp", ID: ytList}},
	{"https://www.youtube.com/playlist?list=PL0123456789ABCDEF", medialink.Link{Type: "yp", ID: "PL0123456789ABCDEF"}},
	{"https://www.youtube.com/playlist?list=OLAK5uy_" + strings.Repeat("x", 33), medialink.Link{Type: "yp", ID: "OLAK5uy_" + strings.Repeat("x", 33)}},
	{"https://www.youtube.com/embed/videoseries?list=" + ytList, medialink.Link{Type: "yp", ID: ytList}},
	{"yp:" + ytList, medialink.Link{Type: "yp", ID: ytList}},
	// Vimeo
	{"https://vimeo.com/76979871", medialink.Link{Type: "vi", ID: "76979871"}},
	{"https://vimeo.com/76979871/abcdef1234", medialink.Link{Type: "vi", ID: "76979871"}},
	{"https://player.vimeo.com/video/76979871?h=abc", medialink.Link{Type: "vi", ID: "76979871"}},
	{"https://vimeo.com/channels/staffpicks/76979871", medialink.Link{Type: "vi", ID: "76979871"}},
	{"https://vimeo.com/showcase/123/video/76979871", medialink.Link{Type: "vi", ID: "76979871"}},
	{"vi:76979871", medialink.Link{Type: "vi", ID: "76979871"}},
	// Dailymotion
	{"https://www.dailymotion.com/video/x7tgad0", medialink.Link{Type: "dm", ID: "x7tgad0"}},
	{"https://dailymotion.com/video/x7tgad0_some-title_news", medialink.Link{Type: "dm", ID: "x7tgad0"}},
	{"https://www.dailymotion.com/embed/video/x7tgad0?autoplay=1", medialink.Link{Type: "dm", ID: "x7tgad0"}},
	{"https://dai.ly/x7tgad0", medialink.Link{Type: "dm", ID: "x7tgad0"}},
	{"dm:x7tgad0_title", medialink.Link{Type: "dm", ID: "x7tgad0"}},
	// Twitch
	{"https://www.twitch.tv/monstercat", medialink.Link{Type: "tw", ID: "monstercat"}},
	{"https://m.twitch.tv/Some_Channel?sr=a", medialink.Link{Type: "tw", ID: "Some_Channel"}},
	{"https://player.twitch.tv/?channel=monstercat&parent=example.com", medialink.Link{Type: "tw", ID: "monstercat"}},
	{"tw:monstercat", medialink.Link{Type: "tw", ID: "monstercat"}},
	{"https://www.twitch.tv/videos/1234567890", medialink.Link{Type: "tv", ID: "v1234567890"}},
	{"https://www.twitch.tv/videos/1234567890?t=1h2m3s", medialink.Link{Type: "tv", ID: "v1234567890"}},
	{"https://www.twitch.tv/monstercat/v/1234567890", medialink.Link{Type: "tv", ID: "v1234567890"}},
	{"https://player.twitch.tv/?video=v1234567890&parent=x", medialink.Link{Type: "tv", ID: "v1234567890"}},
	{"tv:v1234567890", medialink.Link{Type: "tv", ID: "v1234567890"}},
	{"tv:1234567890", medialink.Link{Type: "tv", ID: "v1234567890"}},
	{"https://clips.twitch.tv/AwkwardHelplessSalamanderSwiftRage", medialink.Link{Type: "tc", ID: "AwkwardHelplessSalamanderSwiftRage"}},
	{"https://clips.twitch.tv/embed?clip=FunnyClip-AbC_12xyz&parent=x", medialink.Link{Type: "tc", ID: "FunnyClip-AbC_12xyz"}},
	{"https://www.twitch.tv/monstercat/clip/FunnyClip-AbC_12xyz?filter=clips", medialink.Link{Type: "tc", ID: "FunnyClip-AbC_12xyz"}},
	{"tc:AwkwardHelplessSalamanderSwiftRage", medialink.Link{Type: "tc", ID: "AwkwardHelplessSalamanderSwiftRage"}},
	// Streamable
	{"https://streamable.com/moo", medialink.Link{Type: "sb", ID: "moo"}},
	{"https://streamable.com/e/moo?autoplay=1", medialink.Link{Type: "sb", ID: "moo"}},
	{"sb:moo", medialink.Link{Type: "sb", ID: "moo"}},
	// Google Drive
	{"https://drive.google.com/file/d/1A2b3C4d5E6f7G8h9I0j_-kLmNoP/view?usp=sharing", medialink.Link{Type: "gd", ID: "1A2b3C4d5E6f7G8h9I0j_-kLmNoP"}},
	{"https://docs.google.com/file/d/1A2b3C4d5E6f7G8h9I0j_-kLmNoP", medialink.Link{Type: "gd", ID: "1A2b3C4d5E6f7G8h9I0j_-kLmNoP"}},
	{"https://drive.google.com/open?id=1A2b3C4d5E6f7G8h9I0j_-kLmNoP", medialink.Link{Type: "gd", ID: "1A2b3C4d5E6f7G8h9I0j_-kLmNoP"}},
	{"https://drive.google.com/uc?export=download&id=1A2b3C4d5E6f7G8h9I0j_-kLmNoP", medialink.Link{Type: "gd", ID: "1A2b3C4d5E6f7G8h9I0j_-kLmNoP"}},
	{"gd:1A2b3C4d5E6f7G8h9I0j_-kLmNoP", medialink.Link{Type: "gd", ID: "1A2b3C4d5E6f7G8h9I0j_-kLmNoP"}},
	// PeerTube
	{"https://framatube.org/videos/watch/" + ptUUID, medialink.Link{Type: "pt", ID: "framatube.org;" + ptUUID}},
	{"https://framatube.org/w/" + ptShrt, medialink.Link{Type: "pt", ID: "framatube.org;" + ptShrt}},
	{"https://FramaTube.org:443/videos/embed/" + ptUUID, medialink.Link{Type: "pt", ID: "framatube.org;" + ptUUID}},
	{"pt:framatube.org;" + ptShrt, medialink.Link{Type: "pt", ID: "framatube.org;" + ptShrt}},
	// BitChute
	{"https://www.bitchute.com/video/AbCdEfGhIjK/", medialink.Link{Type: "bc", ID: "AbCdEfGhIjK"}},
	{"https://old.bitchute.com/embed/AbCdEfGhIjKl", medialink.Link{Type: "bc", ID: "AbCdEfGhIjKl"}},
	{"bc:AbCdEfGhIjK", medialink.Link{Type: "bc", ID: "AbCdEfGhIjK"}},
	// Odysee
	{"https://odysee.com/@SomeChannel:5/some-video-title:e", medialink.Link{Type: "od", ID: "SomeChannel;some-video-title"}},
	{"https://odysee.com/@SomeChannel/some-video-title", medialink.Link{Type: "od", ID: "SomeChannel;some-video-title"}},
	{"https://odysee.com/@%E5%90%8D%E5%89%8D:a/%E5%8B%95%E7%94%BB:b", medialink.Link{Type: "od", ID: "%E5%90%8D%E5%89%8D;%E5%8B%95%E7%94%BB"}},
	{"https://odysee.com/@名前/動画", medialink.Link{Type: "od", ID: "%E5%90%8D%E5%89%8D;%E5%8B%95%E7%94%BB"}},
	{"od:SomeChannel;some-video-title", medialink.Link{Type: "od", ID: "SomeChannel;some-video-title"}},
	// Bandcamp
	{"https://someartist.bandcamp.com/track/some-track", medialink.Link{Type: "bn", ID: "someartist;some-track"}},
	{"https://SomeArtist.bandcamp.com/track/some-track?from=x", medialink.Link{Type: "bn", ID: "someartist;some-track"}},
	{"bn:someartist;some-track", medialink.Link{Type: "bn", ID: "someartist;some-track"}},
	// Niconico
	{"https://www.nicovideo.jp/watch/sm9", medialink.Link{Type: "nv", ID: "sm9"}},
	{"https://sp.nicovideo.jp/watch/sm12345678?ref=x", medialink.Link{Type: "nv", ID: "sm12345678"}},
	{"https://nico.ms/sm12345678", medialink.Link{Type: "nv", ID: "sm12345678"}},
	{"nv:sm12345678", medialink.Link{Type: "nv", ID: "sm12345678"}},
	// Livestream.com
	{"https://livestream.com/accounts/1234/events/5678", medialink.Link{Type: "li", ID: "1234;5678"}},
	{"https://livestream.com/accounts/1234/events/5678/videos/9", medialink.Link{Type: "li", ID: "1234;5678"}},
	{"li:1234;5678", medialink.Link{Type: "li", ID: "1234;5678"}},
	// HLS, custom manifests, RTMP, raw files: the id is the link.
	{"https://cdn.example.com/live/stream.m3u8", medialink.Link{Type: "hl", ID: "https://cdn.example.com/live/stream.m3u8"}},
	{"https://cdn.example.com/live/STREAM.M3U8?token=abc", medialink.Link{Type: "hl", ID: "https://cdn.example.com/live/STREAM.M3U8?token=abc"}},
	{"hl:https://cdn.example.com/live/stream.m3u8?token=a&b=c", medialink.Link{Type: "hl", ID: "https://cdn.example.com/live/stream.m3u8?token=a&b=c"}},
	{"https://example.com/media/manifest.json", medialink.Link{Type: "cm", ID: "https://example.com/media/manifest.json"}},
	{"http://example.com/media/manifest.json?v=2", medialink.Link{Type: "cm", ID: "http://example.com/media/manifest.json?v=2"}},
	{"cm:https://example.com/media/manifest.json", medialink.Link{Type: "cm", ID: "https://example.com/media/manifest.json"}},
	{"rtmp://live.example.com/app/stream", medialink.Link{Type: "rt", ID: "rtmp://live.example.com/app/stream"}},
	{"rt:rtmp://live.example.com/app/stream", medialink.Link{Type: "rt", ID: "rtmp://live.example.com/app/stream"}},
	{"https://files.example.com/video.mp4", medialink.Link{Type: "fi", ID: "https://files.example.com/video.mp4"}},
	{"https://files.example.com/a/b.webm?sig=x%2Fy&exp=1#t=10", medialink.Link{Type: "fi", ID: "https://files.example.com/a/b.webm?sig=x%2Fy&exp=1#t=10"}},
	{"https://files.example.com/song.mp3", medialink.Link{Type: "fi", ID: "https://files.example.com/song.mp3"}},
	{"https://files.example.com/song.m4a", medialink.Link{Type: "fi", ID: "https://files.example.com/song.m4a"}},
	{"https://files.example.com/clip.ogg", medialink.Link{Type: "fi", ID: "https://files.example.com/clip.ogg"}},
	{"files.example.com/video.mp4", medialink.Link{Type: "fi", ID: "https://files.example.com/video.mp4"}},
	{"fi:https://files.example.com/video.mp4?a=1&b=2", medialink.Link{Type: "fi", ID: "https://files.example.com/video.mp4?a=1&b=2"}},
	{"https://example.com/w/not-a-peertube-id", medialink.Link{Type: "fi", ID: "https://example.com/w/not-a-peertube-id"}},
}

func TestParseForms(t *testing.T) {
	for _, tc := range validLinks {
		t.Run(tc.in, func(t *testing.T) {
			is := is.New(t)
			got, err := medialink.Parse(tc.in)
			is.NoErr(err)
			is.Equal(got, tc.want)
		})
	}
}

// TestRoundTrip: what Parse returns comes back unchanged from its URL and
// from its shorthand.
func TestRoundTrip(t *testing.T) {
	for _, tc := range validLinks {
		t.Run(tc.in, func(t *testing.T) {
			is := is.New(t)
			l, err := medialink.Parse(tc.in)
			is.NoErr(err)
			u := medialink.URL(l.Type, l.ID)
			is.True(u != "") // every parsed link has a URL
			back, err := medialink.Parse(u)
			is.NoErr(err)
			is.Equal(back, l)
			back, err = medialink.Parse(l.String())
			is.NoErr(err)
			is.Equal(back, l)
		})
	}
}

func TestParseRefuses(t *testing.T) {
	huge := "https://youtu.be/" + strings.Repeat("a", medialink.MaxLength)
	for _, tc := range []struct {
		name, in string
		want     error
		says     string // part of the message
	}{
		{"empty", "", medialink.ErrInvalid, "empty"},
		{"blank", " \t\n", medialink.ErrInvalid, "empty"},
		{"huge", huge, medialink.ErrInvalid, "more than 4096"},
		{"huge shorthand", "fi:" + huge, medialink.ErrInvalid, "more than"},
		{"not utf-8", "https://youtu.be/\xff\xfe", medialink.ErrInvalid, "UTF-8"},
		{"inner space", "https://youtu.be/dQw4w9WgXcQ extra", medialink.ErrInvalid, "space"},
		{"newline injection", "https://example.com/a.mp4\nhttps://evil", medialink.ErrInvalid, "control"},
		{"nul", "yt:dQw4w9\x00WgXcQ", medialink.ErrInvalid, "control"},
		{"bidi override", "https://example.com/\u202Evid.mp4", medialink.ErrInvalid, "invisible"},
		{"zero width", "yt:dQw4w9WgXc\u200bQ", medialink.ErrInvalid, "invisible"},
		{"javascript", "javascript:alert(1)", medialink.ErrUnsupported, "javascript:"},
		{"javascript with slashes", "javascript://youtu.be/%0aalert(1)", medialink.ErrUnsupported, "javascript:"},
		{"data", "data:text/html,<script>alert(1)</script>", medialink.ErrUnsupported, "data:"},
		{"file", "file:///etc/passwd", medialink.ErrUnsupported, "file:"},
		{"ftp", "ftp://example.com/a.mp4", medialink.ErrUnsupported, "ftp:"},
		{"no host", "https:///video.mp4", medialink.ErrInvalid, "no host"},
		{"bad escape", "https://example.com/%zz.mp4", medialink.ErrInvalid, "not a URL"},
		{"path only", "/video.mp4", medialink.ErrInvalid, "no scheme"},
		{"user info", "https://youtube.com@evil.example/video.mp4", medialink.ErrInvalid, "password"},
		{"user password", "https://me:secret@files.example.com/a.mp4", medialink.ErrInvalid, "password"},
		{"missing v", "https://www.youtube.com/watch?feature=share", medialink.ErrInvalid, "v="},
		{"empty v", "https://www.youtube.com/watch?v=", medialink.ErrInvalid, "v="},
		{"short yt id", "https://youtu.be/dQw4w9", medialink.ErrInvalid, "not a valid YouTube video id"},
		{"yt id with path", "yt:../../etc/passwd", medialink.ErrInvalid, "YouTube"},
		{"yt id injection", "https://www.youtube.com/watch?v=dQw4w9WgXcQ%26list%3Dx", medialink.ErrInvalid, "YouTube"},
		{"unicode yt id", "yt:dQw4w9WgXcé", medialink.ErrInvalid, "YouTube"},
		{"youtu.be root", "https://youtu.be/", medialink.ErrInvalid, "without a video id"},
		{"youtube channel", "https://www.youtube.com/@SomeChannel", medialink.ErrUnsupported, "YouTube page"},
		{"youtube mix", "https://www.youtube.com/playlist?list=RDdQw4w9WgXcQ", medialink.ErrUnsupported, "user-created"},
		{"youtube uploads", "yp:UUabcdefghijklmnopqrstuv", medialink.ErrUnsupported, "user-created"},
		{"playlist garbage", "yp:PL<script>", medialink.ErrInvalid, "playlist id"},
		{"playlist missing", "https://www.youtube.com/playlist", medialink.ErrInvalid, "list="},
		{"shorthand missing id", "yt:", medialink.ErrInvalid, "missing id"},
		{"shorthand only query", "vi:?x=1", medialink.ErrInvalid, "missing id"},
		{"unknown shorthand", "zz:abc", medialink.ErrUnsupported, "unknown media type"},
		{"two-letter scheme", "ws://example.com/x", medialink.ErrUnsupported, "unknown media type"},
		{"custom embed", `cu:<iframe/src="https://x"></iframe>`, medialink.ErrUnsupported, "iframe"},
		{"vimeo page", "https://vimeo.com/about", medialink.ErrUnsupported, "Vimeo page"},
		{"vimeo bad id", "vi:12ab", medialink.ErrInvalid, "Vimeo"},
		{"dailymotion page", "https://www.dailymotion.com/us", medialink.ErrUnsupported, "Dailymotion page"},
		{"soundcloud", "https://soundcloud.com/artist/track", medialink.ErrUnsupported, "SoundCloud"},
		{"soundcloud short", "sc:https://soundcloud.com/artist/track", medialink.ErrUnsupported, "SoundCloud"},
		{"twitch directory", "https://www.twitch.tv/directory", medialink.ErrInvalid, "Twitch channel"},
		{"twitch page", "https://www.twitch.tv/a/b/c/d", medialink.ErrUnsupported, "Twitch page"},
		{"twitch long name", "tw:" + strings.Repeat("a", 26), medialink.ErrInvalid, "Twitch channel"},
		{"twitch vod letters", "https://www.twitch.tv/videos/abc", medialink.ErrInvalid, "Twitch VOD"},
		{"twitch player empty", "https://player.twitch.tv/?parent=x", medialink.ErrInvalid, "channel="},
		{"clip missing", "https://clips.twitch.tv/embed?parent=x", medialink.ErrInvalid, "Twitch clip"},
		{"livestream old form", "https://livestream.com/somechannel", medialink.ErrUnsupported, "numeric account"},
		{"livestream letters", "li:abc;5678", medialink.ErrInvalid, "numbers"},
		{"drive folder", "https://drive.google.com/drive/folders/abc", medialink.ErrUnsupported, "Google Drive"},
		{"drive open no id", "https://drive.google.com/open?x=1", medialink.ErrInvalid, "id="},
		{"bitchute short id", "https://www.bitchute.com/video/abc/", medialink.ErrInvalid, "BitChute"},
		{"bitchute channel", "https://www.bitchute.com/channel/abc/", medialink.ErrUnsupported, "BitChute"},
		{"odysee channel", "https://odysee.com/@SomeChannel", medialink.ErrUnsupported, "Odysee"},
		{"odysee shorthand separator", "od:user", medialink.ErrInvalid, "user;video"},
		{"odysee injection", "od:us@er;video", medialink.ErrInvalid, "Odysee channel"},
		{"odysee video named like a manifest", "od:user;v.JSON", medialink.ErrInvalid, "Odysee video"},
		{"bandcamp track named like a stream", "bn:artist;t%2Em3u8", medialink.ErrInvalid, "Bandcamp track"},
		{"twitch clip embed page", "tc:embed", medialink.ErrInvalid, "Twitch clip"},
		{"bandcamp album", "https://someartist.bandcamp.com/album/x", medialink.ErrUnsupported, "tracks only"},
		{"bandcamp dotted artist", "bn:a.b;track", medialink.ErrInvalid, "artist"},
		{"nicovideo bad", "nv:12345", medialink.ErrInvalid, "Niconico"},
		{"peertube bad host", "pt:-bad-;" + ptShrt, medialink.ErrInvalid, "host"},
		{"peertube known host", "pt:youtube.com;" + ptShrt, medialink.ErrInvalid, "host"},
		{"peertube bad id", "pt:framatube.org;nope", medialink.ErrInvalid, "PeerTube video id"},
		{"peertube missing separator", "pt:framatube.org", medialink.ErrInvalid, "host;video"},
		{"http raw file", "http://files.example.com/video.mp4", medialink.ErrUnsupported, "https only"},
		{"http hls", "http://cdn.example.com/live.m3u8", medialink.ErrUnsupported, "https only"},
		{"kissanime", "https://kissanime.example/ep1.mp4", medialink.ErrUnsupported, "Kissanime"},
		{"mega", "https://mega.nz/file/abc", medialink.ErrUnsupported, "mega.nz"},
		{"fi of a youtube link", "fi:https://youtu.be/" + ytID, medialink.ErrInvalid, "not a raw file link"},
		{"hl not m3u8", "hl:https://example.com/a.mp4", medialink.ErrInvalid, "not a HLS link"},
		{"cm not json", "cm:https://example.com/manifest", medialink.ErrInvalid, "not a custom media manifest"},
		{"fi of javascript", "fi:javascript:alert(1)", medialink.ErrUnsupported, "javascript"},
		{"fi empty", "fi:", medialink.ErrInvalid, "missing URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			l, err := medialink.Parse(tc.in)
			is.True(err != nil) // refused
			is.Equal(l, medialink.Link{})
			is.True(errors.Is(err, tc.want))
			other := medialink.ErrInvalid
			if tc.want == medialink.ErrInvalid {
				other = medialink.ErrUnsupported
			}
			is.True(!errors.Is(err, other)) // exactly one sentinel
			msg := err.Error()
			is.True(strings.Contains(msg, tc.says)) // the message says what is wrong
			is.True(len(msg) < 400)                 // hostile input is not echoed whole
		})
	}
}

func TestURL(t *testing.T) {
	for _, tc := range []struct{ typ, id, want string }{
		{"yt", ytID, "https://youtu.be/" + ytID},
		{"yp", ytList, "https://www.youtube.com/playlist?list=" + ytList},
		{"vi", "76979871", "https://vimeo.com/76979871"},
		{"dm", "x7tgad0", "https://dailymotion.com/video/x7tgad0"},
		{"tw", "monstercat", "https://twitch.tv/monstercat"},
		{"tv", "v123", "https://www.twitch.tv/videos/123"},
		{"tc", "SomeClip", "https://clips.twitch.tv/SomeClip"},
		{"sb", "moo", "https://streamable.com/moo"},
		{"gd", "abc_-1", "https://docs.google.com/file/d/abc_-1"},
		{"pt", "video.example;1234-abcd", "https://video.example/videos/watch/1234-abcd"},
		{"bc", "AbCdEfGhIjK", "https://www.bitchute.com/video/AbCdEfGhIjK/"},
		{"od", "user;video", "https://odysee.com/@user/video"},
		{"bn", "artist;track", "https://artist.bandcamp.com/track/track"},
		{"nv", "sm9", "https://www.nicovideo.jp/watch/sm9"},
		{"li", "1;2", "https://livestream.com/accounts/1/events/2"},
		{"fi", "https://example.com/a.mp4?x=1", "https://example.com/a.mp4?x=1"},
		{"cm", "http://example.com/m.json", "http://example.com/m.json"},
		{"hl", "https://example.com/s.m3u8", "https://example.com/s.m3u8"},
		{"rt", "rtmp://example.com/live", "rtmp://example.com/live"},
		{"sc", "https://soundcloud.com/a/b", "https://soundcloud.com/a/b"},
		// No URL: types without one, and ids that would change where it points.
		{"cu", "cu:abc", ""},
		{"zz", "abc", ""},
		{"yt", "", ""},
		{"yt", "../../evil", ""},
		{"yt", "x?redirect=https://evil", ""},
		{"yt", "x#frag", ""},
		{"yt", "a b", ""},
		{"yt", "%2e%2e", ""},
		{"yt", ".", ""},
		{"tw", "evil.example/x", ""},
		{"tv", "vabc", ""},
		{"pt", "evil.example/x;id", ""},
		{"pt", "noseparator", ""},
		{"od", "a/b;c", ""},
		{"bn", "evil.example/x;t", ""},
		{"li", "1;2/3", ""},
		{"fi", "javascript:alert(1)", ""},
		{"fi", "https://example.com/a b.mp4", ""},
		{"fi", "https://u:p@example.com/a.mp4", ""},
		{"hl", "/relative.m3u8", ""},
		{"rt", "https://example.com/live", ""},
		{"fi", "https://example.com/\u202Ea.mp4", ""},
		{"yt", strings.Repeat("a", medialink.MaxLength+1), ""},
	} {
		t.Run(tc.typ+" "+tc.id, func(t *testing.T) {
			is := is.New(t)
			is.Equal(medialink.URL(tc.typ, tc.id), tc.want)
		})
	}
}

// FuzzParse: Parse never panics, every error wraps one sentinel, and every
// Link it returns has a URL and a shorthand that parse back to it.
func FuzzParse(f *testing.F) {
	for _, tc := range validLinks {
		f.Add(tc.in)
	}
	for _, s := range []string{"", "yt:", "pt:;", "od:;", "bn:;", "li:;", "fi:fi:", "https://", "rtmp://",
		"javascript:alert(1)", "https://odysee.com/@a:/b:", "https://x.bandcamp.com/track/%41",
		"https://a.b/w/" + ptShrt, "//youtu.be/x", "x:y", "ab:cd:ef", "https://[::1]/w/" + ptShrt} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		l, err := medialink.Parse(in)
		if err != nil {
			if errors.Is(err, medialink.ErrInvalid) == errors.Is(err, medialink.ErrUnsupported) {
				t.Fatalf("Parse(%q) error %v wraps not exactly one sentinel", in, err)
			}
			if l != (medialink.Link{}) {
				t.Fatalf("Parse(%q) returned %+v with an error", in, l)
			}
			return
		}
		if l.Type == "" || l.ID == "" || !utf8.ValidString(l.ID) {
			t.Fatalf("Parse(%q) = %+v", in, l)
		}
		u := medialink.URL(l.Type, l.ID)
		if u == "" {
			t.Fatalf("Parse(%q) = %+v, which has no URL", in, l)
		}
		back, err := medialink.Parse(u)
		if err != nil || back != l {
			t.Fatalf("Parse(%q) = %+v; its URL %q parses to %+v, %v", in, l, u, back, err)
		}
		back, err = medialink.Parse(l.String())
		if err != nil || back != l {
			t.Fatalf("Parse(%q) = %+v; its shorthand %q parses to %+v, %v", in, l, l.String(), back, err)
		}
	})
}
