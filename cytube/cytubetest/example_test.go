package cytubetest_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/roseybot/rosey/cytube/cytubetest"
)

// The wire as a bot sees it, with a bare websocket client.
func ExampleNewServer() {
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	srv.Say("lobby", "alice", "hello <b>world</b>") // goes into the history

	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(srv.URL, "http", "ws", 1)+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		panic(err)
	}
	defer ws.Close()
	read := func() string {
		_, b, err := ws.ReadMessage()
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	send := func(s string) { _ = ws.WriteMessage(websocket.TextMessage, []byte(s)) }

	fmt.Println(read()[:1]) // the open packet
	send("40")
	fmt.Println(read()[:2])
	fmt.Println(read())
	send(`42["login",{"name":"bot"}]`)
	fmt.Println(read())
	fmt.Println(read())
	send(`42["joinChannel",{"name":"lobby"}]`)
	for {
		f := read()
		if strings.HasPrefix(f, `42["chatMsg"`) {
			fmt.Println(f[:strings.Index(f, `,"time"`)])
		}
		if strings.HasPrefix(f, `42["userlist"`) {
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println(srv.WaitUser(ctx, "lobby", "bot"))
	// Output:
	// 0
	// 40
	// 42["rank",-1]
	// 42["rank",0]
	// 42["login",{"guest":true,"name":"bot","success":true}]
	// 42["chatMsg",{"meta":{},"msg":"hello &lt;b&gt;world&lt;/b&gt;"
	// <nil>
}

// Testing what a bot sent, and making another user speak.
func ExampleServer_WaitMessage() {
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	srv.Join("lobby", "carol", 2)
	srv.Say("lobby", "carol", "*bold* & http://example.com/?a=1&b=2")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := srv.WaitMessage(ctx, func(m cytubetest.Message) bool { return m.From == "carol" })
	fmt.Println(m.HTML, err)
	// Output: *bold* &amp; <a href="http://example.com/?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">http://example.com/?a=1&amp;b=2</a> <nil>
}

// Two users in a channel, each on a real websocket.
func ExampleServer_Dial() {
	srv := cytubetest.NewServer(cytubetest.Fast())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	alice, err := srv.Dial(ctx, "lobby", "alice")
	if err != nil {
		panic(err)
	}
	defer alice.Close()
	bob, err := srv.Dial(ctx, "lobby", "bob")
	if err != nil {
		panic(err)
	}
	defer bob.Close()

	_ = alice.Chat("hi <bob>")
	m, err := bob.WaitChat(ctx, func(m cytubetest.Message) bool { return m.From == "alice" })
	fmt.Println(m.From, m.HTML, err)
	// Output: alice hi &lt;bob&gt; <nil>
}
