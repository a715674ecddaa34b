package s3

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"
)

// FileFormat is DestinationOptions.FileFormat.
type FileFormat string

// File formats as the EC2 API spells them.
const (
	PlainText FileFormat = "plain-text"
	Parquet   FileFormat = "parquet"
)

// Object name suffixes. AWS documents ".log.gz" for text; for Parquet the
// suffix is undocumented and community tooling shows ".log.parquet" (spec
// §5.1 ⚠).
const (
	TextSuffix    = ".log.gz"
	ParquetSuffix = ".log.parquet"
)

// BucketPeriod is the S3 publishing period: a file holds the records whose
// end time falls in one 5-minute bucket (spec §5.1).
const BucketPeriod = 5 * time.Minute

// KeyOptions are the DestinationOptions and prefix that shape object keys.
type KeyOptions struct {
	// Prefix is the optional subfolder of the bucket ARN
	// (arn:aws:s3:::bucket/prefix/). Leading and trailing slashes are
	// ignored.
	Prefix                   string
	FileFormat               FileFormat
	HiveCompatiblePartitions bool
	PerHourPartition         bool
}

// ErrReservedPrefix: "you can't use AWSLogs as a subfolder name".
var ErrReservedPrefix = errors.New("AWSLogs is a reserved term and cannot be used as a subfolder name")

// ValidatePrefix checks a destination subfolder.
func ValidatePrefix(prefix string) error {
	for _, seg := range strings.Split(strings.Trim(prefix, "/"), "/") {
		if seg == "AWSLogs" {
			return ErrReservedPrefix
		}
	}
	return nil
}

// BucketStart is the UTC start of the 5-minute bucket holding t.
func BucketStart(t time.Time) time.Time { return t.UTC().Truncate(BucketPeriod) }

// Dir is the "folder" of the objects of a bucket time (spec §5.1):
//
//	prefix/AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{MM}/{dd}/[{HH}/]
//	prefix/AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/year={yyyy}/month={MM}/day={dd}/[hour={HH}/]
func Dir(o KeyOptions, account, region string, t time.Time) string {
	t = t.UTC()
	var b strings.Builder
	if p := strings.Trim(o.Prefix, "/"); p != "" {
		b.WriteString(p)
		b.WriteByte('/')
	}
	y, m, d := t.Date()
	if o.HiveCompatiblePartitions {
		fmt.Fprintf(&b, "AWSLogs/aws-account-id=%s/aws-service=vpcflowlogs/aws-region=%s/year=%04d/month=%02d/day=%02d/",
			account, region, y, int(m), d)
		if o.PerHourPartition {
			fmt.Fprintf(&b, "hour=%02d/", t.Hour())
		}
		return b.String()
	}
	fmt.Fprintf(&b, "AWSLogs/%s/vpcflowlogs/%s/%04d/%02d/%02d/", account, region, y, int(m), d)
	if o.PerHourPartition {
		fmt.Fprintf(&b, "%02d/", t.Hour())
	}
	return b.String()
}

// FileName is {account}_vpcflowlogs_{region}_{flowlogid}_{YYYYMMDDTHHmmZ}_{hash}{suffix}
// with the timestamp of the bucket start (UTC).
func FileName(o KeyOptions, account, region, flowLogID string, bucket time.Time, hash string) string {
	suffix := TextSuffix
	if o.FileFormat == Parquet {
		suffix = ParquetSuffix
	}
	return account + "_vpcflowlogs_" + region + "_" + flowLogID + "_" + BucketStart(bucket).Format("20060102T1504Z") +
		"_" + hash + suffix
}

// Key is the full object key: Dir + FileName, both for the 5-minute
// bucket of t.
func Key(o KeyOptions, account, region, flowLogID string, t time.Time, hash string) string {
	b := BucketStart(t)
	return Dir(o, account, region, b) + FileName(o, account, region, flowLogID, b, hash)
}

// NewHash starts the 8-hex-digit token of a file name. AWS does not
// document its algorithm; ours is the first 4 bytes of SHA-256 over the
// flow log id, the bucket time, the spool sequence number and part index of
// the object, then the object's uncompressed content (header line and
// record lines) written to the returned hash. It is deterministic (same
// records, same names, same bytes), distinct for the several files of one
// bucket, and stable across a crash: a spooled object is re-put under the
// same key.
func NewHash(flowLogID string, bucket time.Time, seq uint64, part int) hash.Hash {
	h := sha256.New()
	var hdr [8 + 8 + 8]byte
	binary.BigEndian.PutUint64(hdr[0:], uint64(bucket.Unix()))
	binary.BigEndian.PutUint64(hdr[8:], seq)
	binary.BigEndian.PutUint64(hdr[16:], uint64(part))
	h.Write([]byte(flowLogID))
	h.Write(hdr[:])
	return h
}

// Token is the file name token of a hash started by NewHash.
func Token(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)[:4]) }

// Hash is NewHash and Token over content in one call.
func Hash(flowLogID string, bucket time.Time, seq uint64, part int, content []byte) string {
	h := NewHash(flowLogID, bucket, seq, part)
	h.Write(content)
	return Token(h)
}
