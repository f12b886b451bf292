# frozen_string_literal: true

require_relative 'test_helper'
require 'open3'

# Key parsing and the SHA-256 fingerprints recorded as proof.
class KeysTest < Minitest::Test
  include Fixtures

  # Keys and the fingerprints OpenSSH_9.2p1 (`ssh-keygen -lf`) printed for them. The first two
  # are the example keys of examples/README.md (the key-sync users source).
  KNOWN = {
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBeWCdqgTHkMwwiXNHKPGKc95MkBGbrhAnMZ8fJb2Vrh alice@laptop' =>
      'SHA256:NcipIaZFWLAfy48V8xL4Zg3EHIHse9OOTyfPJfUxTcM',
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAxQsMBt80t6AAc7q16+iVlm2MWVPWtP1LmH9LKGhg6m bob@laptop' =>
      'SHA256:fA75A99u+OLoCbAm0FigjNHfW90MFGuJp0VnHiO9Ydc',
    'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCj8Gb+vQ/MdJTKqfMMJfU71MaC7iyqkV1gqpM10dJNVQiSdVVplWT41O9zudko0rjg5K8M0OR472uGyNpWvMMa6R01j4F/ucwpy5hGex9m6+heD+37WYTh1myEiyYGZtPzypSjdzicW0Tjc/r1Ym/TEks8ZTPiCWh1AsMfMYi1TURzgcUOj7fU8BVZVGgL5zAtEnE2j36o674mAYC8b2w/y2Y2YWGpPwAIg+oINwqmLV7tq/yPQMUjU6fP+YqZ/xgOulFgF2SVy6w0VDETAmaZIcGEPuYGIXDPqcPJiJx9kQ+dEh0fZrnJd59vWUp2jS/OY//X4e21c3xAM7wTOzfJ vector-rsa' =>
      'SHA256:QvZjEOUB/q2oRiFNyGc5My22iydrmcc8Ezlyn0XWTpQ',
    'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFpnS4nNvF+iJ3coShTPjqWfaOiCmiK5GNew1Kvxczyb22Q0AJ75FBXBY2LvYVBCOjTwDwXLDMhZJwSKWi9x0zQ= vector-ecdsa256' =>
      'SHA256:+FQtWDlHwuy6O+EWU5WnTXzklKcx6Ey2huRxKNw9uoA',
    'ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBADKRc4mn8l2GnPDlcsW9ujq+G+OB12NalzvWYpPyYrinMpUw00f58YsabUS5+jAGfYMZmasALGqS2NIDQAp/tPNJQAsunMoINvZUnQoN+QgSbwqu4l83D5Kf73O639c3iz08cXMqXNjKmJL/0R7UPJjbW6u25B8xecvPk40ovT5UXa3pg== vector-ecdsa521' =>
      'SHA256:KAJRlRkFOAYOmduRIOCwmuBrPZqicaAQQ/+HkbKbhPw'
  }.freeze

  def test_fingerprints_match_recorded_ssh_keygen_output
    KNOWN.each do |line, expected|
      assert_equal expected, UserSetup::Keys.parse(line).fingerprint, line.split.last
    end
  end

  def test_fingerprint_is_unpadded_base64_of_sha256_of_the_blob
    fp = fingerprint(key(7))
    assert_match %r{\ASHA256:[A-Za-z0-9+/]{43}\z}, fp
    refute_includes fp, '='
  end

  # The same check against the ssh-keygen on this machine, with fresh keys of every type and
  # an authorized_keys file with options and comments. The CI script installs ssh-keygen and
  # sets USER_SETUP_REQUIRE_SSH_KEYGEN=1, so there this test cannot skip.
  def test_fingerprints_match_ssh_keygen_on_generated_keys
    keygen = ssh_keygen
    Dir.mktmpdir('user_setup-keys') do |dir|
      lines = [%w[ed25519], %w[rsa -b 2048], %w[ecdsa -b 256], %w[ecdsa -b 384], %w[ecdsa -b 521]].map do |args|
        path = File.join(dir, args.join)
        run!(keygen, '-q', '-t', *args, '-N', '', '-C', "test #{args.join}", '-f', path)
        line = File.read("#{path}.pub").strip
        assert_equal keygen_fingerprints(keygen, "#{path}.pub"), [fingerprint(line)], args.join(' ')
        line
      end
      ak = File.join(dir, 'authorized_keys')
      File.write(ak, <<~KEYS)
        # managed by user_setup
        from="10.0.0.0/8,192.168.1.1",command="echo \\"a b\\"",no-pty #{lines[0]}

        restrict,port-forwarding #{lines[1]}
        #{lines[2]}
      KEYS
      assert_equal keygen_fingerprints(keygen, ak), UserSetup::Keys.parse_file(File.read(ak)).map(&:fingerprint)
    end
  end

  def test_options_with_quoted_spaces_and_escaped_quotes
    line = %(command="echo \\"hello world\\"",from="10.0.0.1" #{key(3, 'ops key, 2024')})
    k = UserSetup::Keys.parse(line)
    assert_equal %(command="echo \\"hello world\\"",from="10.0.0.1"), k.options
    assert_equal 'ssh-ed25519', k.type
    assert_equal 'ops key, 2024', k.comment
    assert_equal line, k.line
    assert_equal fingerprint(key(3)), k.fingerprint
  end

  def test_comment_is_optional_and_whitespace_is_normalized
    bare = key(4).split[0, 2].join(' ')
    assert_nil UserSetup::Keys.parse(bare).comment
    assert_equal "#{bare} me", UserSetup::Keys.parse("  #{bare.sub(' ', "\t")}   me  ").line
  end

  def test_refuses_what_is_not_a_public_key_without_echoing_it
    secret = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ'
    bad = [
      "-----BEGIN OPENSSH PRIVATE KEY----- #{secret}",
      'https://github.com/alice.keys',
      '',
      '   ',
      'ssh-ed25519',
      "ssh-ed25519 #{secret}!!",
      'ssh-foo AAAAC3NzaC1lZDI1NTE5AAAAIBeWCdqgTHkMwwiXNHKPGKc95MkBGbrhAnMZ8fJb2Vrh',
      "#{key(1)}\n#{key(2)}",
      "#{key(1)}\rx",
      "no-pty,command=\"unterminated #{key(1)}",
      42,
      nil
    ]
    bad.each do |line|
      err = assert_raises(UserSetup::Keys::Invalid, line.inspect) { UserSetup::Keys.parse(line) }
      refute_includes err.message, secret
    end
  end

  def test_blob_must_declare_the_type_the_line_says
    ed = key(5).split[1]
    assert_raises(UserSetup::Keys::Invalid) { UserSetup::Keys.parse("ssh-rsa #{ed} x") }
    truncated = [[5000].pack('N') + 'ssh-ed25519'].pack('m0')
    assert_raises(UserSetup::Keys::Invalid) { UserSetup::Keys.parse("ssh-ed25519 #{truncated}") }
  end

  def test_parse_file_skips_comments_blank_and_broken_lines
    content = "# header\n\n#{key(1)}\nnot a key\n  #{key(2, 'two')}  \n\xFF\xFE broken bytes\n".b
    assert_equal [fingerprint(key(1)), fingerprint(key(2))], UserSetup::Keys.parse_file(content).map(&:fingerprint)
    assert_equal [], UserSetup::Keys.parse_file('')
    assert_equal [], UserSetup::Keys.parse_file(nil)
  end

  def test_fingerprints_of_file_are_sorted_and_distinct
    content = [key(2), key(1), "no-pty #{key(2, 'again')}"].join("\n")
    assert_equal [fingerprint(key(1)), fingerprint(key(2))].sort, UserSetup::Keys.fingerprints_of_file(content)
  end

  private

  def ssh_keygen
    path = ENV.fetch('PATH', '').split(File::PATH_SEPARATOR).map { |d| File.join(d, 'ssh-keygen') }
              .find { |p| File.executable?(p) }
    return path if path

    flunk 'ssh-keygen not found (USER_SETUP_REQUIRE_SSH_KEYGEN=1)' if ENV['USER_SETUP_REQUIRE_SSH_KEYGEN'] == '1'
    skip 'ssh-keygen not installed: only the recorded vectors were checked'
  end

  def run!(*cmd)
    out, status = Open3.capture2e(*cmd)
    assert status.success?, "#{cmd.first} failed: #{out}"
    out
  end

  # `ssh-keygen -lf FILE` prints `<bits> SHA256:<fp> <comment> (<TYPE>)` per key.
  def keygen_fingerprints(keygen, path)
    run!(keygen, '-l', '-E', 'sha256', '-f', path).lines.map { |l| l.split[1] }
  end
end
