// Package medialink turns media links into the (type, id) pairs CyTube
// queues, and back.
//
// CyTube's server never parses URLs: its web client does (parseMediaLink in
// www/js/util.js) and sends `queue {type, id}`. A bot queueing a link has to
// do the same, so Parse follows that client for CyTube 3.86, and URL follows
// the server's formatLink in the other direction.
//
// Parse accepts, for each type code:
//
//	yt  YouTube video: youtube.com/watch?v=ID, youtu.be/ID, /shorts/ID,
//	    /embed/ID, /live/ID, /v/ID, m./music./youtube-nocookie hosts. Time
//	    (t=, start=) and playlist (list=) parameters of a video link are
//	    dropped: CyTube has nowhere to put them.
//	yp  YouTube playlist: youtube.com/playlist?list=ID,
//	    /embed/videoseries?list=ID. Only user playlists (PL…, OLA…), as
//	    CyTube checks; mixes (RD…) and uploads (UU…) are ErrUnsupported.
//	vi  Vimeo: vimeo.com/N, vimeo.com/N/hash, player.vimeo.com/video/N,
//	    vimeo.com/channels/NAME/N, …/video/N.
//	dm  Dailymotion: dailymotion.com/video/ID[_slug], /embed/video/ID,
//	    dai.ly/ID.
//	tw  Twitch live channel: twitch.tv/NAME, player.twitch.tv/?channel=NAME.
//	tv  Twitch VOD: twitch.tv/videos/N (id "vN"), twitch.tv/NAME/v/N,
//	    player.twitch.tv/?video=vN.
//	tc  Twitch clip: clips.twitch.tv/SLUG, clips.twitch.tv/embed?clip=SLUG,
//	    twitch.tv/NAME/clip/SLUG. (CyTube 3.86's server looks up only
//	    letters-only slugs, the old form; newer ones are passed on and
//	    CyTube answers with its own error.)
//	sb  Streamable: streamable.com/ID, streamable.com/e/ID.
//	gd  Google Drive: drive.google.com/file/d/ID/…, docs.google.com/file/d/ID,
//	    drive.google.com/open?id=ID, drive.google.com/uc?id=ID.
//	pt  PeerTube, on any host: HOST/w/SHORTID, HOST/videos/watch/UUID,
//	    HOST/videos/embed/… (id "host;uuid"; the port is dropped, as CyTube
//	    does). CyTube's server plays only hosts in its PeerTube list.
//	bc  BitChute: bitchute.com/video/ID/, /embed/ID/.
//	od  Odysee: odysee.com/@USER[:c]/VIDEO[:c] (id "USER;VIDEO").
//	bn  Bandcamp track: ARTIST.bandcamp.com/track/TRACK (id "ARTIST;TRACK").
//	nv  Niconico: nicovideo.jp/watch/smN, nico.ms/smN.
//	li  Livestream.com: livestream.com/accounts/N/events/N (id "N;N").
//	hl  HLS live stream: an https URL whose path ends in .m3u8.
//	cm  CyTube custom media manifest: an http(s) URL whose path ends in .json.
//	rt  RTMP live stream: an rtmp:// URL.
//	fi  Raw file: any other https URL (the CyTube server probes it with
//	    ffprobe, so a page that is not a media file fails there).
//
// CyTube's shorthand "xx:ID" (yt:dQw4w9WgXcQ, tv:v123, fi:https://…) is
// accepted for every type above, with the type in either case; Link.String
// gives it back. As in CyTube's client, the id is cut at the first ?, & or
// # (and _ for dm), except for fi, cm, hl and rt, whose id is a whole URL
// kept whole (CyTube cuts hl and rt ones, losing their query) and which must
// read as that type. A link without a scheme ("youtu.be/ID") is read as
// https.
//
// Parse refuses, with an error wrapping ErrUnsupported: SoundCloud (CyTube
// 3.86 no longer plays it), custom embeds ("cu", which are HTML, not links),
// Livestream.com links without the numeric account, raw files over plain
// http and HLS over plain http (CyTube refuses both), kissanime-like sites
// and mega.nz (CyTube's client refuses them), and any scheme but
// http/https/rtmp (javascript:, data:, file:…). Malformed links and ids
// (a YouTube id that is not 11 characters, a missing v=, spaces, control or
// invisible characters, user:password@ in the host, more than MaxLength
// bytes) wrap ErrInvalid. Messages quote at most a short piece of the input.
//
// Ids are checked against what each site and CyTube's server accept, so what
// Parse returns is safe to put in a URL and to send to CyTube: for every
// Link l it returns, Parse(URL(l.Type, l.ID)) and Parse(l.String()) give l
// again.
package medialink
