package main

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"vpcflow/internal/flow"
	"vpcflow/internal/flowfile"
)

// logsOptions are the flags shared by `logs read` and `logs convert`.
type logsOptions struct {
	format   string
	lenient  bool
	comments bool
	workers  int
}

func (o *logsOptions) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&o.format, "format", "", "record format: `${field} ${field} …` or a header line of field names (default: the file's header line, else the default format)")
	fs.BoolVar(&o.lenient, "lenient", false, "skip malformed lines and report how many were skipped, instead of stopping at the first")
	fs.BoolVar(&o.comments, "comments", false, "treat '#' tokens as comments (whole lines or trailing annotations, as in AWS's documentation examples)")
	fs.IntVar(&o.workers, "workers", 0, "decode/encode goroutines (0 = GOMAXPROCS)")
}

func (o *logsOptions) readOptions(name string) (flowfile.Options, error) {
	opt := flowfile.Options{Lenient: o.lenient, AllowComments: o.comments, Name: name}
	if name == "-" {
		opt.Name = "stdin"
	}
	if o.format != "" {
		var f flow.Format
		var err error
		if strings.Contains(o.format, "${") {
			f, err = flow.ParseFormat(o.format)
		} else {
			f, err = flow.ParseHeader(o.format)
		}
		if err != nil {
			return opt, fmt.Errorf("--format: %w", err)
		}
		opt.Format = f
	}
	return opt, nil
}

func newLogsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Read and convert flow log files (text, gzip, Parquet)",
	}
	cmd.AddCommand(newLogsReadCmd(), newLogsConvertCmd())
	return cmd
}

// expandArgs replaces each directory argument by the flow log objects under
// it (*.log, *.log.gz, *.parquet, as in an S3 bucket layout), in name
// order.
func expandArgs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if a == "-" || err != nil || !st.IsDir() {
			out = append(out, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if !d.IsDir() && (strings.HasSuffix(name, ".log") || strings.HasSuffix(name, ".log.gz") || strings.HasSuffix(name, ".parquet")) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no flow log files (*.log, *.log.gz, *.parquet)", a)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// openInput opens a file argument; "-" is the command's standard input.
func openInput(stdin io.Reader, path string) (io.Reader, func(), error) {
	if path == "-" {
		return stdin, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// warn prints warnings, one a line.
func warn(w io.Writer, warnings []error) {
	for _, err := range warnings {
		fmt.Fprintf(w, "vpcflow: warning: %v\n", err)
	}
}

// reportRead tells stderr what reading a file left out: bytes after its
// last gzip member (a warning) and the malformed lines --lenient skipped.
func reportRead(w io.Writer, name string, st flowfile.Stats) {
	warn(w, st.Warnings)
	if st.Skipped == 0 {
		return
	}
	fmt.Fprintf(w, "vpcflow: %s: skipped %d malformed line(s) of %d\n", name, st.Skipped, st.Lines)
	for _, err := range st.Errors {
		fmt.Fprintf(w, "  %v\n", err)
	}
	if st.Skipped > len(st.Errors) {
		fmt.Fprintf(w, "  … %d more\n", st.Skipped-len(st.Errors))
	}
}

func newLogsReadCmd() *cobra.Command {
	var o logsOptions
	var output string
	var header bool
	var cpuprofile string
	cmd := &cobra.Command{
		Use:   "read [flags] FILE...",
		Short: "Print the records of flow log files",
		Long: `Print the records of flow log files: plain text, gzip text (detected by its
magic bytes) or Parquet, "-" for standard input; a directory stands for the
*.log, *.log.gz and *.parquet files under it (an S3 bucket copy). A first line made of field
names (the header line AWS writes in S3 objects) defines the format, in any
field order; --format overrides it. Malformed lines stop the read with
file:line:column, or with --lenient are skipped and counted.

Output: text (AWS format, "-" for absent), csv (header row, empty cell for
absent), json (one object per line, AWS field names, null for absent), table.`,
		Example: `  vpcflow logs read internal/flow/testdata/sample.log.gz
  vpcflow logs read --output json --lenient a.log.gz b.log.gz
  zcat x.log.gz | vpcflow logs read --output csv -`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"-"}
			}
			args, err := expandArgs(args)
			if err != nil {
				return err
			}
			stopProfile, err := startCPUProfile(cpuprofile)
			if err != nil {
				return err
			}
			defer stopProfile()
			stdout := bufio.NewWriterSize(cmd.OutOrStdout(), 1<<20)
			defer stdout.Flush()
			if output == "table" {
				return readTable(stdout, cmd.ErrOrStderr(), cmd.InOrStdin(), &o, args)
			}
			enc, err := flowfile.ParseEncoding(output)
			if err != nil {
				return fmt.Errorf("--output: %w", err)
			}
			var written flow.Format
			for _, path := range args {
				opt, err := o.readOptions(path)
				if err != nil {
					return err
				}
				in, done, err := openInput(cmd.InOrStdin(), path)
				if err != nil {
					return err
				}
				st, err := flowfile.Transcode(stdout, in, opt, flowfile.TranscodeOptions{
					Encoding:      enc,
					Header:        enc == flowfile.EncCSV || header,
					Workers:       o.workers,
					HeaderWritten: written,
				})
				done()
				written = st.Format
				reportRead(cmd.ErrOrStderr(), opt.Name, st)
				if err != nil {
					stdout.Flush()
					return err
				}
			}
			return stdout.Flush()
		},
	}
	o.bind(cmd)
	cmd.Flags().StringVarP(&output, "output", "O", "text", "output: text, csv, json or table")
	cmd.Flags().BoolVar(&header, "header", false, "with --output text, print the header line of field names (as in S3 objects)")
	cmd.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile to this file")
	cmd.Flags().MarkHidden("cpuprofile")
	return cmd
}

// openRecords opens a file argument for record-at-a-time reading; "-" is
// the command's standard input.
func openRecords(stdin io.Reader, path string, opt flowfile.Options) (*flowfile.Reader, error) {
	if path == "-" {
		return flowfile.NewReader(stdin, opt)
	}
	return flowfile.Open(path, opt)
}

func readTable(stdout, stderr io.Writer, stdin io.Reader, o *logsOptions, args []string) error {
	var tw *flowfile.TableWriter
	var f flow.Format
	defer func() {
		if tw != nil {
			tw.Close()
		}
	}()
	for _, path := range args {
		opt, err := o.readOptions(path)
		if err != nil {
			return err
		}
		rd, err := openRecords(stdin, path, opt)
		if err != nil {
			return err
		}
		for rd.Next() {
			if tw == nil || !f.Equal(rd.Format()) {
				if tw != nil {
					tw.Close()
				}
				f = rd.Format()
				tw = flowfile.NewTableWriter(stdout, f)
			}
			if err := tw.Write(rd.Record()); err != nil {
				rd.Close()
				return err
			}
		}
		rd.Close()
		reportRead(stderr, opt.Name, rd.Stats())
		if err := rd.Err(); err != nil {
			return err
		}
	}
	return nil
}

func newLogsConvertCmd() *cobra.Command {
	var o logsOptions
	var to, out string
	var noHeader bool
	cmd := &cobra.Command{
		Use:   "convert --to text|parquet|json|csv [-o OUT] FILE...",
		Short: "Convert flow log files between text, gzip text, Parquet, JSON and CSV",
		Long: `Convert flow log files. The target "text" is an S3-style object: the header
line of field names, then one record per line, gzip-compressed when OUT ends
in .gz. "parquet" uses AWS's Parquet schema (column names with '_', INT_32,
INT_64 and STRING types, NULL for "-", gzip inside the file). All inputs must
share one format. Without -o the output goes to standard output.`,
		Example: `  vpcflow logs convert --to parquet -o out.log.parquet internal/flow/testdata/sample.log.gz
  vpcflow logs convert --to text -o out.log.gz in.log.parquet`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			args, err := expandArgs(args)
			if err != nil {
				return err
			}
			var dst io.Writer = cmd.OutOrStdout()
			var file *os.File
			if out != "" && out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				file, dst = f, f
			}
			err = convert(cmd, &o, to, out, !noHeader, dst, args)
			if file != nil {
				if cerr := file.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					os.Remove(out) // never leave a partial object behind
				}
			}
			return err
		},
	}
	o.bind(cmd)
	cmd.Flags().StringVar(&to, "to", "", "target: text, parquet, json or csv (required)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "output file (default standard output); text is gzip-compressed when it ends in .gz")
	cmd.Flags().BoolVar(&noHeader, "no-header", false, "text target: omit the header line")
	cmd.MarkFlagRequired("to")
	return cmd
}

func convert(cmd *cobra.Command, o *logsOptions, to, out string, header bool, dst io.Writer, args []string) error {
	var w flowfile.RecordWriter
	var wf flow.Format
	stdin := cmd.InOrStdin()
	last := flow.DefaultFormat
	open := func(f flow.Format) error {
		var err error
		switch to {
		case "parquet":
			w, err = flowfile.NewParquetWriter(dst, f)
		case "text":
			if strings.HasSuffix(out, ".gz") {
				w = flowfile.NewGzipTextWriter(dst, f, header)
			} else {
				w = flowfile.NewTextWriter(dst, f, header)
			}
		case "json":
			w = flowfile.NewJSONWriter(dst, f)
		case "csv":
			w = flowfile.NewCSVWriter(dst, f)
		default:
			err = fmt.Errorf("--to: unknown target %q (want text, parquet, json or csv)", to)
		}
		wf = f
		return err
	}
	for _, path := range args {
		opt, err := o.readOptions(path)
		if err != nil {
			return err
		}
		rd, err := openRecords(stdin, path, opt)
		if err != nil {
			return err
		}
		for rd.Next() {
			if w == nil {
				if err := open(rd.Format()); err != nil {
					rd.Close()
					return err
				}
			} else if !wf.Equal(rd.Format()) {
				rd.Close()
				return fmt.Errorf("%s: format %q differs from the first input's %q; convert them separately",
					opt.Name, rd.Format().Header(), wf.Header())
			}
			if err := w.Write(rd.Record()); err != nil {
				rd.Close()
				return err
			}
		}
		rd.Close()
		reportRead(cmd.ErrOrStderr(), opt.Name, rd.Stats())
		if err := rd.Err(); err != nil {
			return err
		}
		last = rd.Format()
	}
	if w == nil { // no records: an object with just the header
		if err := open(last); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return nil
}
