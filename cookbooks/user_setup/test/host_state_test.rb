# frozen_string_literal: true

require_relative 'test_helper'

# Reading the real host (libraries/host_state.rb) and the proof a run records (Proof).
class HostStateTest < Minitest::Test
  include Fixtures

  def test_password_field_classification
    {
      '$6$salt$hash' => :usable, '' => :usable,
      '!$6$salt$hash' => :locked,
      '!' => :none, '!!' => :none, '*' => :none, '!*' => :none, '*LK*' => :none
    }.each { |field, status| assert_equal status, UserSetup::Passwords.status(field), field.inspect }
    assert_nil UserSetup::Passwords.status(nil), 'shadow unreadable: unknown'
  end

  def test_live_users_read_passwd_and_the_given_shadow_file
    Dir.mktmpdir('user_setup-shadow') do |dir|
      shadow = File.join(dir, 'shadow')
      File.write(shadow, "root:!$6$x$y:19000:0:99999:7:::\n")
      users = UserSetup::Live::Users.new(shadow)
      root = users['root']
      assert_equal [0, 0], [root.uid, root.gid]
      assert_equal Etc.getpwnam('root').dir, root.home
      assert_equal :locked, root.password
      assert_nil users['no-such-user-user-setup']
      assert_nil UserSetup::Live::Users.new(File.join(dir, 'absent'))['root'].password, 'unreadable shadow: unknown'
    end
  end

  def test_live_groups
    root = UserSetup::Live::Groups.new['root']
    assert_equal 0, root.gid
    assert_kind_of Array, root.members
    assert_nil UserSetup::Live::Groups.new['no-such-group-user-setup']
  end

  def test_live_files_lstat_and_never_follow_symlinks
    Dir.mktmpdir('user_setup-files') do |dir|
      ssh = File.join(dir, '.ssh')
      Dir.mkdir(ssh, 0o700)
      keys = File.join(ssh, 'authorized_keys')
      File.write(keys, "#{key(1)}\n")
      File.chmod(0o640, keys)
      File.write(File.join(dir, 'empty'), '')
      File.symlink(keys, File.join(dir, 'link'))
      files = UserSetup::Live::Files.new
      me = Etc.getpwuid(Process.uid).name

      assert_equal UserSetup::FileState.new(kind: :directory, content: nil, mode: 0o700, owner: me), files[ssh]
      assert_equal UserSetup::FileState.new(kind: :file, content: "#{key(1)}\n", mode: 0o640, owner: me), files[keys]
      assert_equal '', files[File.join(dir, 'empty')].content
      link = files[File.join(dir, 'link')]
      assert_equal :symlink, link.kind
      assert_nil link.content
      assert_nil files[File.join(dir, 'missing')]
      assert_nil files[File.join(keys, 'below-a-file')]
    end
  end

  def test_proof_records_the_fingerprints_really_in_the_files
    Dir.mktmpdir('user_setup-proof') do |dir|
      alice = File.join(dir, 'alice_keys')
      File.write(alice, "# comment\nno-pty #{key(2)}\n#{key(1)}\n#{key(2, 'dup')}\ngarbage\n")
      empty = File.join(dir, 'empty_keys')
      File.write(empty, '')
      alice2 = File.join(dir, 'alice_keys2')
      File.write(alice2, "#{key(3)}\n#{key(1)}\n")
      targets = {
        'bob' => { paths: [empty, File.join(dir, 'missing2')], state: 'present' },
        'alice' => { paths: [alice, alice2], state: 'present' },
        'carol' => { paths: [], state: 'removed' },
        'dave' => { paths: [File.join(dir, 'missing')], state: 'locked' }
      }
      proof = UserSetup::Proof.collect(targets, at: 1_700_000_000)
      assert_equal %w[alice bob carol dave], proof.keys
      assert_equal({ 'fingerprints' => [fingerprint(key(1)), fingerprint(key(2)), fingerprint(key(3))].sort,
                     'at' => 1_700_000_000,
                     'state' => 'present' }, proof['alice'])
      assert_equal({ 'fingerprints' => [], 'at' => 1_700_000_000, 'state' => 'removed' }, proof['carol'])
      assert_equal [], proof['bob']['fingerprints']
      assert_equal [], proof['dave']['fingerprints']
    end
  end

  def test_proof_of_a_plan_after_it_ran
    items = [item('alice', groups: ['sysadmin'], ssh_keys: [key(3)]), item('carol', action: 'remove')]
    plan = plan(items, host)
    after = Simulator.apply(plan, host)
    proof = UserSetup::Proof.collect(plan.proof, at: 5, reader: ->(path) { after.files[path]&.content })
    assert_equal({ 'alice' => { 'fingerprints' => [fingerprint(key(3))], 'at' => 5, 'state' => 'present' },
                   'carol' => { 'fingerprints' => [], 'at' => 5, 'state' => 'removed' } }, proof)
  end

  def test_previous_states_from_the_node_attribute
    installed = { 'alice' => { 'fingerprints' => [], 'at' => 1, 'state' => 'locked' },
                  'bob' => { 'fingerprints' => ['SHA256:x'], 'at' => 1 } }
    assert_equal({ 'alice' => 'locked', 'bob' => 'present' }, UserSetup::Proof.previous(installed))
    assert_equal({}, UserSetup::Proof.previous(nil))
  end
end
