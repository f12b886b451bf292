# Verifies a batch of requests signed by chef-client with the reference implementation
# (Debian ruby-mixlib-authentication). Used by tests/mixlib.rs.
#
# stdin:  JSON array of {"id", "method", "path", "body", "headers": {name: value}, "public_key"}
# stdout: one JSON object per line: {"id", "valid", "signature", "timestamp", "content_hash", "error"}
require "openssl" # Ruby 3.1 + mixlib 3.0.6: openssl must be loaded before mixlib
require "json"
require "mixlib/authentication/signatureverification"

RackLikeRequest = Struct.new(:env, :method, :path, :params, :raw_post)

JSON.parse($stdin.read).each do |req|
  env = { "HTTP_HOST" => "localhost" }
  req.fetch("headers").each { |name, value| env["HTTP_#{name.upcase.tr('-', '_')}"] = value }
  request = RackLikeRequest.new(env, req.fetch("method").upcase, req.fetch("path"), {}, req.fetch("body"))
  verifier = Mixlib::Authentication::SignatureVerification.new
  result = { id: req["id"] }
  begin
    key = OpenSSL::PKey::RSA.new(req.fetch("public_key"))
    ok = verifier.authenticate_user_request(request, key, 900)
    result.merge!(valid: !ok.nil?, signature: verifier.valid_signature?,
                  timestamp: verifier.valid_timestamp?, content_hash: verifier.valid_content_hash?)
  rescue StandardError => e
    result.merge!(valid: false, error: "#{e.class}: #{e.message}")
  end
  puts result.to_json
end
