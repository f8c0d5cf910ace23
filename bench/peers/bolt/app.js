// The peer the bot is measured against: a minimal Slack Bolt for JavaScript
// app in socket mode that acknowledges a slash command and posts one reply.
// The benchmark runs it with the same fake Slack as the bot: SLACK_API_URL
// points both the Web API client and the socket-mode client (which asks
// apps.connections.open for its websocket URL) at the fake.
const { App, LogLevel } = require('@slack/bolt');

const app = new App({
  token: process.env.SLACK_BOT_TOKEN,
  appToken: process.env.SLACK_APP_TOKEN,
  socketMode: true,
  logLevel: LogLevel.WARN,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});

app.command(/.*/, async ({ command, ack, client }) => {
  await ack({ response_type: 'ephemeral', text: `Looking up ${command.text}` });
  await client.chat.postMessage({ channel: command.channel_id, text: `${command.command} ${command.text}: done` });
});

(async () => {
  await app.start();
  // The benchmark waits for this line before it sends any load.
  console.log('bolt peer ready');
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
