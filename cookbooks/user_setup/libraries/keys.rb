# frozen_string_literal: true

# SSH public key lines: parsing (authorized_keys format: `[options] type base64 [comment]`)
# and the SHA-256 fingerprint OpenSSH prints (`ssh-keygen -l`).
#
# Plain Ruby, no Chef: Chef loads this file from libraries/, the tests require it directly.

require 'digest'

module UserSetup
  # One parsed public key line.
  #
  # options - the options field as written (`from="10.0.0.0/8",no-pty`), or nil
  # type    - the key type token (`ssh-ed25519`)
  # base64  - the key blob, base64 as written
  # blob    - the decoded key blob (binary)
  # comment - the rest of the line, or nil
  Key = Struct.new(:options, :type, :base64, :blob, :comment, keyword_init: true) do
    # `SHA256:<base64 without padding>` of the key blob: what `ssh-keygen -lf` prints.
    def fingerprint
      Keys.fingerprint(blob)
    end

    # The key's identity: two lines with the same type and blob are the same key, whatever
    # their options or comments.
    def identity
      "#{type} #{base64}"
    end

    # The line as it goes into authorized_keys: options, type, blob, comment, one space apart.
    def line
      [options, type, base64, comment].compact.join(' ')
    end
  end

  # Parsing and fingerprints of OpenSSH public key lines.
  module Keys
    # Key types sshd accepts in authorized_keys (plain keys, security keys, certificates).
    TYPES = %w[
      ssh-ed25519 ssh-rsa ssh-dss
      ecdsa-sha2-nistp256 ecdsa-sha2-nistp384 ecdsa-sha2-nistp521
      sk-ssh-ed25519@openssh.com sk-ecdsa-sha2-nistp256@openssh.com
      ssh-ed25519-cert-v01@openssh.com ssh-rsa-cert-v01@openssh.com ssh-dss-cert-v01@openssh.com
      ecdsa-sha2-nistp256-cert-v01@openssh.com ecdsa-sha2-nistp384-cert-v01@openssh.com
      ecdsa-sha2-nistp521-cert-v01@openssh.com
      sk-ssh-ed25519-cert-v01@openssh.com sk-ecdsa-sha2-nistp256-cert-v01@openssh.com
    ].freeze

    # Raised by parse. The message never contains the input: a line might be a private key
    # pasted by mistake.
    class Invalid < StandardError; end

    module_function

    # `SHA256:` + unpadded base64 of SHA-256(blob), as OpenSSH prints it.
    def fingerprint(blob)
      "SHA256:#{[Digest::SHA256.digest(blob)].pack('m0').delete('=')}"
    end

    # Parses one line in authorized_keys format. Raises Keys::Invalid.
    def parse(line)
      raise Invalid, 'not a string' unless line.is_a?(String)
      raise Invalid, 'not valid text' unless line.valid_encoding?
      raise Invalid, 'a key must fit on one line' if line.match?(/[\r\n]/)

      text = line.strip
      raise Invalid, 'empty key' if text.empty?
      raise Invalid, 'a private key; only public keys belong in authorized_keys' if text.include?('PRIVATE KEY')
      raise Invalid, 'URL keys are not supported; list the keys themselves' if text.match?(%r{\Ahttps?://})

      options = nil
      rest = text
      unless TYPES.include?(text.split(/\s+/, 2).first)
        options, rest = split_options(text)
        raise Invalid, 'no key type after the options' if rest.nil?
      end
      type, b64, comment = rest.split(/\s+/, 3)
      raise Invalid, 'unknown key type' unless TYPES.include?(type)
      raise Invalid, 'no key data' if b64.nil?

      blob = decode(b64)
      raise Invalid, 'the key data does not match the key type' unless blob_type(blob) == type

      comment = comment&.strip
      comment = nil if comment&.empty?
      Key.new(options: options, type: type, base64: b64, blob: blob, comment: comment)
    end

    # Parses an authorized_keys file's content: the keys of the lines that parse (blank
    # lines, `#` comments and lines sshd would not accept are skipped).
    def parse_file(content)
      content.to_s.scrub.each_line.filter_map do |raw|
        text = raw.strip
        next if text.empty? || text.start_with?('#')

        begin
          parse(text)
        rescue Invalid
          nil
        end
      end
    end

    # The sorted, distinct fingerprints of the keys in an authorized_keys file's content.
    def fingerprints_of_file(content)
      parse_file(content).map(&:fingerprint).uniq.sort
    end

    # Splits `options rest` at the first whitespace outside double quotes (options may hold
    # quoted values with spaces: `command="echo a b"`). Returns [options, rest or nil].
    def split_options(text)
      quoted = false
      escaped = false
      text.each_char.with_index do |c, i|
        if escaped
          escaped = false
        elsif c == '\\' && quoted
          escaped = true
        elsif c == '"'
          quoted = !quoted
        elsif !quoted && c.match?(/\s/)
          return [text[0...i], text[i..].lstrip]
        end
      end
      [text, nil]
    end

    # Strict base64 (what OpenSSH writes: padded, no line breaks). Raises Invalid.
    def decode(b64)
      raise Invalid, 'the key data is not base64' unless b64.match?(%r{\A[A-Za-z0-9+/]+={0,2}\z})

      b64.unpack1('m0')
    rescue ArgumentError
      raise Invalid, 'the key data is not base64'
    end

    # The type name a key blob starts with (an SSH string: 4-byte big-endian length, bytes).
    def blob_type(blob)
      return nil if blob.bytesize < 4

      len = blob.unpack1('N')
      return nil if len.zero? || len > 64 || blob.bytesize < 4 + len

      blob.byteslice(4, len)
    end
  end
end
