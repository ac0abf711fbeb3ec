package marketplace_test

import (
	"fmt"

	"github.com/roseybot/rosey/marketplace"
)

func ExampleSearch() {
	cats := []*marketplace.Catalogue{marketplace.Shipped()}
	for _, hit := range marketplace.Search(cats, "dice") {
		fmt.Println(hit.Name, hit.Latest(), hit.Source())
	}
	// Output: dice-duel v0.1.0 github.com/roseybot/rosey/examples/dice-duel
}

func ExamplePermissionsFor() {
	p := marketplace.PermissionsFor("dice-duel", "", marketplace.Subjects{Publish: []string{"cytube.send.chat"}})
	fmt.Println("publish:", p.Publish)
	fmt.Println("subscribe:", p.Subscribe[0], "… and", p.Subscribe[len(p.Subscribe)-1])
	// Output:
	// publish: [database.dice-duel.> platform.plugin.dice-duel.> cytube.send.chat]
	// subscribe: plugin.dice-duel.> … and _INBOX.plugin.dice-duel.>
}

func ExamplePrompt() {
	m, err := marketplace.ParseManifest([]byte(`{"name": "dice-duel", "version": "1.0.0",
		"description": "Dice duels", "license": "MIT",
		"commands": [{"name": "duel", "usage": "[name]"}]}`))
	if err != nil {
		panic(err)
	}
	fmt.Print(marketplace.Prompt(m, "example.com/dice-duel@v1.0.0"))
	// Output:
	// dice-duel 1.0.0: Dice duels
	//   from example.com/dice-duel@v1.0.0 (licence MIT)
	//   It will run as its own process, under a NATS user of its own that may:
	//     • answer its commands: !duel
	//     • keep data in its own part of the bot's database (database.dice-duel.*)
	//   and nothing else: the NATS server refuses the rest (it cannot read the chat, speak in chat except to answer its commands, read other plugins' data or replies, or pose as another plugin).
}
