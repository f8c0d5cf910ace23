// Command floor is the least a slack-go socket-mode bot can be: it
// acknowledges every slash command at once with a fixed text and does
// nothing else. The benchmark runs it beside the bot, on the same fake Slack,
// as the floor any slack-go bot pays before its own work (see bench/doc.go).
//
// It reads SLACK_BOT_TOKEN, SLACK_APP_TOKEN and SLACK_API_URL, and prints
// "floor ready" once its socket is connected.
package main

import (
	"fmt"
	"os"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func main() {
	api := slack.New(os.Getenv("SLACK_BOT_TOKEN"),
		slack.OptionAPIURL(os.Getenv("SLACK_API_URL")),
		slack.OptionAppLevelToken(os.Getenv("SLACK_APP_TOKEN")))
	client := socketmode.New(api)
	answer := map[string]string{"response_type": "ephemeral", "text": "Looking up…"}
	go func() {
		for evt := range client.Events {
			switch evt.Type {
			case socketmode.EventTypeHello:
				fmt.Println("floor ready")
			case socketmode.EventTypeSlashCommand:
				_ = client.Ack(*evt.Request, answer)
			case socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
				_ = client.Ack(*evt.Request)
			}
		}
	}()
	if err := client.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
