package medialink_test

import (
	"errors"
	"fmt"

	"github.com/roseybot/rosey/cytube/medialink"
)

func ExampleParse() {
	for _, link := range []string{
		"https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s",
		"https://www.twitch.tv/videos/1234567890",
		"https://framatube.org/w/kkGMgK9ZtnKfYAgnEtQxbv",
		"https://cdn.example.com/live/stream.m3u8",
		"https://files.example.com/video.mp4",
		"yt:dQw4w9WgXcQ",
	} {
		l, err := medialink.Parse(link)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s %s\n", l.Type, l.ID)
	}
	// Output:
	// yt dQw4w9WgXcQ
	// tv v1234567890
	// pt framatube.org;kkGMgK9ZtnKfYAgnEtQxbv
	// hl https://cdn.example.com/live/stream.m3u8
	// fi https://files.example.com/video.mp4
	// yt dQw4w9WgXcQ
}

// Errors wrap ErrUnsupported (CyTube cannot play it) or ErrInvalid (the
// link is malformed), with a message fit to show the user.
func ExampleParse_errors() {
	for _, link := range []string{
		"https://soundcloud.com/artist/track",
		"http://files.example.com/video.mp4",
		"https://youtu.be/tooShort",
		"javascript:alert(1)",
	} {
		_, err := medialink.Parse(link)
		fmt.Println(errors.Is(err, medialink.ErrUnsupported), err)
	}
	// Output:
	// true medialink: unsupported media link: SoundCloud: CyTube no longer plays SoundCloud (its API takes no new keys)
	// true medialink: unsupported media link: fi: CyTube plays raw files over https only, not plain http
	// false medialink: invalid media link: yt: "tooShort" is not a valid YouTube video id
	// true medialink: unsupported media link: "javascript:" links are not media links
}

func ExampleURL() {
	fmt.Println(medialink.URL("yt", "dQw4w9WgXcQ"))
	fmt.Println(medialink.URL("od", "SomeChannel;some-video"))
	fmt.Println(medialink.URL("yt", "../../elsewhere")) // refused: not a clean id
	fmt.Println(medialink.URL("cu", "cu:abc123"))       // custom embeds have no URL
	// Output:
	// https://youtu.be/dQw4w9WgXcQ
	// https://odysee.com/@SomeChannel/some-video
	//
	//
}

func ExampleLink_String() {
	l, _ := medialink.Parse("https://www.twitch.tv/monstercat/clip/FunnyClip")
	fmt.Println(l)
	// Output: tc:FunnyClip
}
