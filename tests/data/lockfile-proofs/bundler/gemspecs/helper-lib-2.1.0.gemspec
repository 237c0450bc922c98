Gem::Specification.new do |s|
  s.name = 'helper-lib'
  s.version = '2.1.0'
  s.summary = 'test gem helper-lib'
  s.authors = ['backline']
  s.files = ['lib/helper-lib.rb']
  s.license = 'MIT'
  s.add_development_dependency 'minitest', '~> 5.0'
end
