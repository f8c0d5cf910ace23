package slackpost

import (
	"testing"

	"github.com/switchboard-bot/switchboard/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }
