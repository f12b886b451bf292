# frozen_string_literal: true

# Shared by the tests: loads the libraries (the way Chef would, without Chef) and minitest,
# and builds keys, bag items and host states.

require 'minitest/autorun'
require 'tmpdir'

LIBRARIES = File.expand_path('../libraries', __dir__)
Dir[File.join(LIBRARIES, '*.rb')].sort.each { |f| require f }
require_relative 'simulator'

module Fixtures
  module_function

  # A well-formed ssh-ed25519 line whose 32-byte key is `seed` repeated.
  def key(seed, comment = "key#{seed}@example")
    blob = ssh_string('ssh-ed25519') + ssh_string([seed].pack('C') * 32)
    "ssh-ed25519 #{[blob].pack('m0')} #{comment}"
  end

  def ssh_string(bytes)
    [bytes.bytesize].pack('N') + bytes.b
  end

  def fingerprint(line)
    UserSetup::Keys.parse(line).fingerprint
  end

  # A bag item as search returns it: string keys.
  def item(id, **fields)
    { 'id' => id }.merge(fields.transform_keys(&:to_s))
  end

  def user(uid, home: nil, shell: '/bin/bash', comment: '', password: :none, gid: nil, home_exists: true)
    UserSetup::UserState.new(uid: uid, gid: gid || uid, home: home, shell: shell, comment: comment,
                             password: password, home_exists: home_exists)
  end

  def dir(owner, mode = 0o700)
    UserSetup::FileState.new(kind: :directory, content: nil, mode: mode, owner: owner)
  end

  def file(owner, content, mode = 0o600)
    UserSetup::FileState.new(kind: :file, content: content, mode: mode, owner: owner)
  end

  def symlink
    UserSetup::FileState.new(kind: :symlink, content: nil, mode: 0o777, owner: 'root')
  end

  # A host like a freshly converged one: system users, a local admin outside the bag, and
  # alice (key 1) in sysadmin with her keys in place.
  def host(users: {}, groups: {}, files: {})
    base_users = {
      'root' => user(0, home: '/root'),
      'daemon' => user(1, home: '/usr/sbin', shell: '/usr/sbin/nologin'),
      'nobody' => user(65_534, home: '/nonexistent', shell: '/usr/sbin/nologin', home_exists: false),
      'localadmin' => user(1500, home: '/home/localadmin'),
      'alice' => user(1001, home: '/home/alice')
    }
    base_groups = {
      'sysadmin' => UserSetup::GroupState.new(gid: 2300, members: %w[alice localadmin]),
      'deploy' => UserSetup::GroupState.new(gid: 2400, members: [])
    }
    base_files = {
      '/home/alice' => dir('alice', 0o755),
      '/home/alice/.ssh' => dir('alice'),
      '/home/alice/.ssh/authorized_keys' => file('alice', "#{key(1)}\n"),
      '/home/localadmin' => dir('localadmin', 0o755)
    }
    UserSetup::HostState.new(users: base_users.merge(users).compact, groups: base_groups.merge(groups).compact,
                             files: base_files.merge(files).compact)
  end

  def config(**settings)
    UserSetup::Config.new(**settings)
  end

  def plan(items, state, previous: {}, **settings)
    UserSetup::Planner.new(config(**settings)).plan(items: items, state: state, previous: previous)
  end
end

module PlanAssertions
  include Fixtures

  def steps(plan, kind)
    plan.steps.select { |s| s[:kind] == kind }
  end

  def step_for(plan, kind, name)
    plan.steps.find { |s| s[:kind] == kind && (s[:name] == name || s[:path] == name) }
  end

  # Plans, applies the plan to the state (as Chef's resources would), plans again from the
  # result with the proof states the run recorded: the second plan must be empty.
  def assert_converges(items, state, previous: {}, **settings)
    first = plan(items, state, previous: previous, **settings)
    after = Simulator.apply(first, state)
    second = plan(items, after, previous: first.states, **settings)
    assert_empty second.steps, "not idempotent: second plan #{second.describe.inspect}"
    [first, after]
  end

  def authorized_keys(state, home)
    f = state.files["#{home}/.ssh/authorized_keys"]
    f&.content
  end
end
