package eventbus_test

import (
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/envelope"
)

// The header names eventbus documents are the ones the module's other
// readers of the envelope use.
func TestHeaderNamesAreTheEnvelopes(t *testing.T) {
	is := is.New(t)
	is.Equal(eventbus.HeaderCorrelationID, envelope.CorrelationID)
	is.Equal(eventbus.HeaderPriority, envelope.Priority)
	is.Equal(eventbus.HeaderTimestamp, envelope.Timestamp)
	is.Equal(eventbus.HeaderSource, envelope.Source)
	is.Equal(eventbus.HeaderMetaPrefix, envelope.MetaPrefix)
}
