package flowlog

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"vpcflow/internal/dataplane"
	"vpcflow/internal/flow"
	"vpcflow/internal/publish"
)

type nullDest struct{ records int }

func (d *nullDest) Deliver(_ context.Context, b publish.Batch) error {
	d.records += len(b.Records)
	return nil
}
func (d *nullDest) Flush(context.Context) error { return nil }
func (d *nullDest) Status() publish.Status      { return publish.Status{State: publish.DeliverySuccess} }
func (d *nullDest) Close() error                { return nil }

// BenchmarkServiceObserve measures observations per second through the
// service: routing to the flow logs that cover the interface (one VPC flow
// log and one flow log per subnet, so two aggregators per observation),
// aggregation, window closing and delivery to a null destination. 100
// interfaces × 100 flows, 100 observations per flow per 60 s window.
func BenchmarkServiceObserve(b *testing.B) {
	const enis, flows, perWindow = 100, 100, 100
	now := time.Unix(1_700_000_000, 0)
	store, err := OpenStore(StoreConfig{AccountID: account, Region: "us-east-1", Seed: 1}, StoreDeps{Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	ifs := make([]*dataplane.Interface, enis)
	for i := range ifs {
		ifs[i] = &dataplane.Interface{ID: fmt.Sprintf("eni-%017x", i), AccountID: account, VPCID: "vpc-01", SubnetID: fmt.Sprintf("subnet-%02d", i%4)}
	}
	in := CreateInput{ResourceType: "VPC", ResourceIDs: []string{"vpc-01"}, TrafficType: "ALL", LogDestinationType: "s3", LogDestination: "arn:aws:s3:::bench", MaxAggregationInterval: 60}
	if _, err := store.Create(in); err != nil {
		b.Fatal(err)
	}
	in.ResourceType, in.ResourceIDs = "Subnet", []string{"subnet-00", "subnet-01", "subnet-02", "subnet-03"}
	if _, err := store.Create(in); err != nil {
		b.Fatal(err)
	}
	dest := &nullDest{}
	svc, err := New(DefaultConfig(), Deps{Store: store, NewDestination: func(publish.FlowLog, Resource) (publish.Destination, error) { return dest, nil }, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	obs := make([]dataplane.Observation, enis*flows)
	for i := range obs {
		f := i / enis
		src := netip.AddrFrom4([4]byte{10, 0, byte(f >> 8), byte(f)})
		dst := netip.AddrFrom4([4]byte{10, 1, 0, 1})
		obs[i] = dataplane.Observation{Interface: ifs[i%enis], Action: flow.ActionAccept, Protocol: 6,
			SrcPort: uint16(1024 + f), DstPort: 443, SrcAddr: src, DstAddr: dst, PktSrcAddr: src, PktDstAddr: dst, Packets: 1, Bytes: 1500}
	}
	step := 60 * time.Second / time.Duration(len(obs)*perWindow)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		o := &obs[i%len(obs)]
		o.Time = now
		svc.Observe(o)
		i++
		now = now.Add(step)
		if i&4095 == 0 {
			svc.Advance(b.Context(), now)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "obs/s")
	svc.Stop(b.Context())
}
