package insights

import (
	"context"
	"slices"
	"strings"

	"vpcflow/internal/logstore"
)

// Events is an in-memory Source, for tests and small inputs. Scan yields
// the events in slice order.
type Events []logstore.Event

// Scan implements Source.
func (es Events) Scan(ctx context.Context, q logstore.Query, fn func(*logstore.Event) error) error {
	for i := range es {
		e := &es[i]
		if len(q.LogGroups) > 0 && !slices.Contains(q.LogGroups, e.LogGroup) ||
			len(q.LogStreams) > 0 && !slices.Contains(q.LogStreams, e.LogStream) ||
			q.StreamPrefix != "" && !strings.HasPrefix(e.LogStream, q.StreamPrefix) ||
			q.Start != 0 && e.Timestamp < q.Start || q.End != 0 && e.Timestamp >= q.End {
			continue
		}
		if i&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}
