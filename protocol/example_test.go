package protocol_test

import (
	"encoding/json"
	"fmt"

	"github.com/roseybot/rosey/protocol"
)

// SendChatRequest reads the contract's {"message"} and also {"result"},
// the shape a plugin that publishes its answer sends; "message" wins when
// both are there.
func ExampleSendChatRequest_UnmarshalJSON() {
	for _, body := range []string{
		`{"message": "Hello!", "channel": "lobby"}`,
		`{"result": "Done!"}`,
		`{"message": "kept", "result": "ignored"}`,
		`{"message": 42}`,
	} {
		var r protocol.SendChatRequest
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			fmt.Println("not a chat request:", body)
			continue
		}
		fmt.Printf("%q in %q\n", r.Message, r.Channel)
	}
	// Output:
	// "Hello!" in "lobby"
	// "Done!" in ""
	// "kept" in ""
	// not a chat request: {"message": 42}
}

// Subjects of the wire contract are constants; plugin subjects are built
// from the plugin's name.
func ExamplePluginCommand() {
	fmt.Println(protocol.Chat, protocol.SendPM)
	fmt.Println(protocol.PluginCommand("dice-roller"))
	fmt.Println(protocol.PluginState("trivia", "started"))
	// Output:
	// cytube.chat cytube.send.pm
	// plugin.dice-roller.command
	// platform.plugin.trivia.started
}

// A chat line as it travels on cytube.chat.
func ExampleChatMessage() {
	m := protocol.ChatMessage{User: "alice", Message: "!roll 2d6", Channel: "lobby", Rank: protocol.RankUser, Time: 1700000000000}
	b, _ := json.Marshal(m)
	fmt.Println(string(b))
	fmt.Println(protocol.SameUser("Alice", "alice"))
	// Output:
	// {"user":"alice","message":"!roll 2d6","channel":"lobby","rank":1,"time":1700000000000}
	// true
}
