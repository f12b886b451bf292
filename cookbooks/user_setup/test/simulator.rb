# frozen_string_literal: true

# What each plan step does to a host, modelled on the core Chef resources the recipe uses
# (user, group, directory, file, link) on Linux. Test support: lets the tests check that a
# plan's steps are ordered so that every resource can run, and that applying a plan reaches
# a state the planner has nothing more to do for (idempotence). Raises where Chef would fail.
module Simulator
  class Failure < StandardError; end

  module_function

  def apply(plan, state)
    users = state.users.transform_values(&:dup)
    groups = state.groups.transform_values { |g| UserSetup::GroupState.new(gid: g.gid, members: g.members.dup) }
    files = state.files.dup
    plan.steps.each { |s| send("apply_#{s[:kind]}", s, users, groups, files) }
    UserSetup::HostState.new(users: users, groups: groups, files: files)
  end

  def apply_create_group(s, _users, groups, _files)
    fail!("group #{s[:name]} exists") if groups[s[:name]]
    gid = s[:gid] || (groups.values.map(&:gid).select { |g| g >= 1000 }.max || 999) + 1
    groups[s[:name]] = UserSetup::GroupState.new(gid: gid, members: [])
  end

  def apply_create_user(s, users, groups, files)
    name = s[:name]
    fail!("user #{name} exists") if users[name]
    uid = s[:uid] || (users.values.map(&:uid).select { |u| u.between?(1000, 60_000) }.max || 999) + 1
    gid = case s[:gid]
          when Integer then s[:gid]
          when String then groups.fetch(s[:gid]) { fail!("useradd: group #{s[:gid]} does not exist") }.gid
          else
            groups[name] ||= UserSetup::GroupState.new(gid: uid, members: []) # user private group
            groups[name].gid
          end
    users[name] = UserSetup::UserState.new(uid: uid, gid: gid, home: s[:home], shell: s[:shell],
                                           comment: s[:comment] || '', password: :none, home_exists: true)
    files[s[:home]] ||= UserSetup::FileState.new(kind: :directory, mode: 0o755, owner: name)
  end

  def apply_modify_user(s, users, _groups, _files)
    u = users.fetch(s[:name]) { fail!("usermod: user #{s[:name]} does not exist") }
    u.shell = s[:shell] if s.key?(:shell)
    u.comment = s[:comment] if s.key?(:comment)
  end

  def apply_lock_user(s, users, _groups, _files)
    u = users.fetch(s[:name]) { fail!("usermod -L: no user #{s[:name]}") }
    u.password = :locked if u.password == :usable
  end

  def apply_unlock_user(s, users, _groups, _files)
    u = users.fetch(s[:name]) { fail!("usermod -U: no user #{s[:name]}") }
    fail!("usermod -U #{s[:name]}: unlocking would leave a passwordless account") unless u.password == :locked
    u.password = :usable
  end

  def apply_remove_user(s, users, groups, files)
    u = users.delete(s[:name]) { fail!("userdel: no user #{s[:name]}") }
    groups.each_value { |g| g.members.delete(s[:name]) }
    groups.delete(s[:name]) if groups[s[:name]]&.gid == u.gid # userdel drops the private group
    files.delete_if { |path, _| path == u.home || path.start_with?("#{u.home}/") } if s[:remove_home]
  end

  def apply_unlink(s, _users, _groups, files)
    fail!("link #{s[:path]}: not a symlink") unless files[s[:path]]&.kind == :symlink
    files.delete(s[:path])
  end

  def apply_ssh_dir(s, users, _groups, files)
    fail!("directory #{s[:path]}: no user #{s[:owner]}") unless users[s[:owner]]
    parent = files[File.dirname(s[:path])]
    fail!("directory #{s[:path]}: parent missing") unless parent&.kind == :directory
    files[s[:path]] = UserSetup::FileState.new(kind: :directory, mode: 0o700, owner: s[:owner])
  end

  def apply_key_file(s, users, _groups, files)
    fail!("file #{s[:path]}: no user #{s[:owner]}") unless users[s[:owner]]
    fail!("file #{s[:path]}: parent missing") unless files[File.dirname(s[:path])]&.kind == :directory
    files[s[:path]] = UserSetup::FileState.new(kind: :file, content: s[:content], mode: 0o600, owner: s[:owner])
  end

  def apply_set_members(s, users, groups, _files)
    g = groups.fetch(s[:name]) { fail!("group #{s[:name]} does not exist") }
    missing = s[:members].reject { |m| users[m] }
    fail!("gpasswd -M #{s[:name]}: unknown user(s) #{missing.join(', ')}") unless missing.empty?
    g.members = s[:members].dup
  end

  def fail!(message)
    raise Failure, message
  end
end
