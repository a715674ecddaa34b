package s3

import (
	"errors"
	"testing"
	"time"
)

// TestKeysGolden checks every DestinationOptions combination against the
// layouts of spec §5.1 (the four full example keys are AWS's documented
// patterns with the documented example file name).
func TestKeysGolden(t *testing.T) {
	at := time.Date(2018, 6, 20, 16, 24, 59, 0, time.UTC) // end time inside the 16:20 bucket
	const (
		acct   = "123456789012"
		region = "us-east-1"
		fl     = "fl-1234abcd"
		hash   = "fe123456"
		file   = "123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz"
		pfile  = "123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.parquet"
	)
	cases := []struct {
		prefix  string
		format  FileFormat
		hive    bool
		perHour bool
		want    string
	}{
		{"", PlainText, false, false, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/" + file},
		{"", PlainText, false, true, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/16/" + file},
		{"", PlainText, true, false, "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20/" + file},
		{"", PlainText, true, true, "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20/hour=16/" + file},
		{"my-logs", PlainText, false, false, "my-logs/AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/" + file},
		{"my-logs/", PlainText, false, true, "my-logs/AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/16/" + file},
		{"/my-logs/", PlainText, true, false, "my-logs/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20/" + file},
		{"my-logs", PlainText, true, true, "my-logs/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20/hour=16/" + file},
		{"a/b", PlainText, false, false, "a/b/AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/" + file},
		{"", Parquet, false, false, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/" + pfile},
		{"", Parquet, false, true, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/16/" + pfile},
		{"", Parquet, true, false, "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20/" + pfile},
		{"", Parquet, true, true, "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20/hour=16/" + pfile},
		{"my-logs", Parquet, false, false, "my-logs/AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/" + pfile},
		{"my-logs", Parquet, false, true, "my-logs/AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/16/" + pfile},
		{"my-logs", Parquet, true, false, "my-logs/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20/" + pfile},
		{"my-logs", Parquet, true, true, "my-logs/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20/hour=16/" + pfile},
	}
	for _, tc := range cases {
		o := KeyOptions{Prefix: tc.prefix, FileFormat: tc.format, HiveCompatiblePartitions: tc.hive, PerHourPartition: tc.perHour}
		if got := Key(o, acct, region, fl, at, hash); got != tc.want {
			t.Errorf("%+v\n got %s\nwant %s", o, got, tc.want)
		}
	}
}

func TestBucketBoundaries(t *testing.T) {
	cases := []struct {
		end  time.Time
		want string
	}{
		{time.Date(2018, 6, 20, 16, 20, 0, 0, time.UTC), "20180620T1620Z"},
		{time.Date(2018, 6, 20, 16, 24, 59, 0, time.UTC), "20180620T1620Z"},
		{time.Date(2018, 6, 20, 16, 25, 0, 0, time.UTC), "20180620T1625Z"},
		{time.Date(2018, 6, 20, 23, 59, 59, 0, time.UTC), "20180620T2355Z"},
		// Local time zones do not leak in: 01:02 at UTC+9 is 16:02 UTC the day before.
		{time.Date(2018, 6, 21, 1, 2, 3, 0, time.FixedZone("KST", 9*3600)), "20180620T1600Z"},
	}
	for _, tc := range cases {
		if got := BucketStart(tc.end).Format("20060102T1504Z"); got != tc.want {
			t.Errorf("BucketStart(%s) = %s, want %s", tc.end, got, tc.want)
		}
	}
	// The date folders follow the bucket (UTC), also across midnight.
	k := Key(KeyOptions{PerHourPartition: true}, "1", "r", "fl-1", time.Date(2018, 6, 21, 0, 4, 0, 0, time.FixedZone("X", -3600)), "00000000")
	if want := "AWSLogs/1/vpcflowlogs/r/2018/06/21/01/1_vpcflowlogs_r_fl-1_20180621T0100Z_00000000.log.gz"; k != want {
		t.Errorf("got %s want %s", k, want)
	}
}

func TestHashAndPrefix(t *testing.T) {
	b := time.Date(2018, 6, 20, 16, 20, 0, 0, time.UTC)
	h1 := Hash("fl-1", b, 1, 0, []byte("x\n"))
	if len(h1) != 8 || h1 != Hash("fl-1", b, 1, 0, []byte("x\n")) {
		t.Fatalf("hash %q not deterministic 8 hex", h1)
	}
	for _, other := range []string{Hash("fl-2", b, 1, 0, []byte("x\n")), Hash("fl-1", b, 2, 0, []byte("x\n")),
		Hash("fl-1", b, 1, 1, []byte("x\n")), Hash("fl-1", b, 1, 0, []byte("y\n"))} {
		if other == h1 {
			t.Errorf("hash collision %s", h1)
		}
	}
	if err := ValidatePrefix("logs/AWSLogs"); !errors.Is(err, ErrReservedPrefix) {
		t.Errorf("AWSLogs prefix: %v", err)
	}
	if err := ValidatePrefix("my-logs/AWSLogsX"); err != nil {
		t.Errorf("prefix: %v", err)
	}
}
